"""Calibration data, copied from `shared/calibration/latency.csv` (measured single-inference
latencies of int8 models under TFLM, each row with its public source), and the work units of
the five reference models as rebuilt by `benchmarks/reference_models.py` and counted by
`tuner.estimate._features.model_features` (`benchmarks/estimator_accuracy.py --check` verifies
that these numbers still match the rebuilt models).
"""

from __future__ import annotations

from dataclasses import dataclass

MLPERF_V05 = "MLPerf Tiny inference v0.5 reference submission (harness board)"
MLPERF_RENESAS = "MLPerf Tiny inference results (Renesas submission)"
ESP_NN = "esp-nn project README (person detection benchmark)"
PICO = "pico-tflmicro README (person detection benchmark; 587.4 ms using both cores)"


@dataclass(frozen=True)
class Measurement:
    board: str
    core: str
    clock_mhz: float
    runtime: str
    kernels: str
    model: str
    macs: int
    latency_ms: float
    source: str

    @property
    def cycles(self) -> float:
        return self.latency_ms * 1e-3 * self.clock_mhz * 1e6


MEASUREMENTS: tuple[Measurement, ...] = (
    Measurement(
        "nucleo-l4r5zi",
        "cortex-m4f",
        120,
        "tflm-2.3.1",
        "cmsis-nn",
        "kws_dscnn",
        2656768,
        181.917,
        MLPERF_V05,
    ),
    Measurement(
        "nucleo-l4r5zi",
        "cortex-m4f",
        120,
        "tflm-2.3.1",
        "cmsis-nn",
        "vww_mobilenetv1_025",
        7489664,
        600.601,
        MLPERF_V05,
    ),
    Measurement(
        "nucleo-l4r5zi",
        "cortex-m4f",
        120,
        "tflm-2.3.1",
        "cmsis-nn",
        "ic_resnet8",
        12501632,
        704.225,
        MLPERF_V05,
    ),
    Measurement(
        "nucleo-l4r5zi",
        "cortex-m4f",
        120,
        "tflm-2.3.1",
        "cmsis-nn",
        "ad_fc_autoencoder",
        264192,
        10.052,
        MLPERF_V05,
    ),
    Measurement("ek-ra6m4", "cortex-m33", 200, "tflm", "cmsis-nn", "kws_dscnn", 2656768, 50.57, MLPERF_RENESAS),
    Measurement(
        "ek-ra6m4",
        "cortex-m33",
        200,
        "tflm",
        "cmsis-nn",
        "vww_mobilenetv1_025",
        7489664,
        162.36,
        MLPERF_RENESAS,
    ),
    Measurement("ek-ra8d1", "cortex-m85", 480, "tflm", "cmsis-nn-helium", "kws_dscnn", 2656768, 3.465, MLPERF_RENESAS),
    Measurement("esp32-s3", "xtensa-lx7", 240, "tflm", "esp-nn", "person_detect", 7157888, 54, ESP_NN),
    Measurement("esp32-s3", "xtensa-lx7", 240, "tflm", "reference", "person_detect", 7157888, 2300, ESP_NN),
    Measurement("esp32", "xtensa-lx6", 240, "tflm", "esp-nn", "person_detect", 7157888, 380, ESP_NN),
    Measurement("esp32", "xtensa-lx6", 240, "tflm", "reference", "person_detect", 7157888, 4084, ESP_NN),
    Measurement("esp32-c3", "riscv32-imc", 160, "tflm", "esp-nn", "person_detect", 7157888, 426, ESP_NN),
    Measurement("esp32-c3", "riscv32-imc", 160, "tflm", "reference", "person_detect", 7157888, 3355, ESP_NN),
    Measurement("rp2040", "cortex-m0plus", 125, "tflm", "cmsis-nn", "person_detect", 7157888, 823.7, PICO),
)

# Work units of the reference models (see module docstring).
REFERENCE_FEATURES: dict[str, dict[str, float]] = {
    "kws_dscnn": {
        "mac_conv": 2368000,
        "mac_dw": 288000,
        "mac_fc": 768,
        "im2col": 37000,
        "out": 72012,
        "elem": 8000,
        "act": 12,
        "move": 0,
        "op": 12,
    },
    "vww_mobilenetv1_025": {
        "mac_conv": 6690816,
        "mac_dw": 798336,
        "mac_fc": 512,
        "im2col": 150912,
        "out": 231554,
        "elem": 2304,
        "act": 2,
        "move": 0,
        "op": 30,
    },
    "ic_resnet8": {
        "mac_conv": 12500992,
        "mac_dw": 0,
        "mac_fc": 640,
        "im2col": 494592,
        "out": 86026,
        "elem": 61440,
        "act": 10,
        "move": 0,
        "op": 15,
    },
    "ad_fc_autoencoder": {
        "mac_conv": 0,
        "mac_dw": 0,
        "mac_fc": 264192,
        "im2col": 0,
        "out": 1672,
        "elem": 0,
        "act": 0,
        "move": 0,
        "op": 10,
    },
    "person_detect": {
        "mac_conv": 6359040,
        "mac_dw": 798336,
        "mac_fc": 512,
        "im2col": 109440,
        "out": 231554,
        "elem": 2304,
        "act": 2,
        "move": 0,
        "op": 30,
    },
}

# CoreMark/MHz of each core (Arm and vendor product pages / EEMBC scores), used only to
# transfer a board scale to a core that has no measurement of its own ("cold start").
COREMARK_PER_MHZ: dict[str, float] = {
    "cortex-m0plus": 2.46,
    "cortex-m4f": 3.42,
    "cortex-m33": 4.02,
    "cortex-m7": 5.01,
    "cortex-m55": 4.40,
    "cortex-m85": 6.28,
    "xtensa-lx6": 3.35,
    "xtensa-lx7": 3.77,
    "riscv32-imc": 2.55,
}
COREMARK_SOURCE = (
    "CoreMark/MHz from Arm Cortex-M product pages (M0+ 2.46, M4 3.42, M33 4.02, M7 5.01, M55 4.40, "
    "M85 6.28) and Espressif datasheets/EEMBC (ESP32 LX6 3.35, ESP32-S3 LX7 3.77, ESP32-C3 2.55)"
)

# SIMD class of each core: a cold-start board borrows only from boards of its own class when
# the family has one (CoreMark does not see SIMD, which is what CMSIS-NN/ESP-NN exploit).
SIMD_CLASS: dict[str, str] = {
    "cortex-m0plus": "none",
    "riscv32-imc": "none",
    "xtensa-lx6": "none",
    "cortex-m4f": "dsp",
    "cortex-m33": "dsp",
    "cortex-m7": "dsp",
    "cortex-m55": "helium",
    "cortex-m85": "helium",
    "xtensa-lx7": "vector",
}
