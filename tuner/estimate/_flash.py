"""Flash: model flatbuffer + TFLM framework + code of the kernels the model uses.

Per-kernel code sizes (bytes, Cortex-M4 Thumb-2, release, size-optimised) are split so that the
KWS kernel set (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, FULLY_CONNECTED, SOFTMAX, RESHAPE)
plus the shared helpers adds up to sizes measured in 2025 on a TFLM Cortex-M4 build: framework + KWS
kernels about 40 kB with reference kernels and 52 kB with CMSIS-NN, framework alone 10.6 kB. The split
between kernels is an estimate (relative source sizes); the sum is the measured figure.
Targets scale it by `code_size_factor` for other instruction sets.
"""

from __future__ import annotations

# kernel code, reference kernels (sum of the KWS set + helpers = 29,400 B)
_REFERENCE = {
    "CONV_2D": 7000,
    "DEPTHWISE_CONV_2D": 6600,
    "FULLY_CONNECTED": 4600,
    "AVERAGE_POOL_2D": 3200,
    "MAX_POOL_2D": 3200,
    "SOFTMAX": 4400,
    "RESHAPE": 1000,
    "ADD": 3800,
    "MUL": 3000,
    "SUB": 3800,
    "QUANTIZE": 2400,
    "DEQUANTIZE": 2000,
    "CONCATENATION": 2200,
    "PAD": 2200,
    "MEAN": 4000,
    "LOGISTIC": 2600,
    "TANH": 2600,
    "RELU": 1400,
    "RELU6": 1400,
    "HARD_SWISH": 2400,
    "LEAKY_RELU": 1600,
    "TRANSPOSE_CONV": 6000,
    "STRIDED_SLICE": 2400,
    "SHAPE": 600,
    "PACK": 1200,
    "SQUEEZE": 600,
    "EXPAND_DIMS": 600,
    "TRANSPOSE": 2000,
    "RESIZE_NEAREST_NEIGHBOR": 1800,
    "BATCH_MATMUL": 5000,
}
_REFERENCE_HELPERS = 2600  # quantisation helpers, common kernel utils (once per build)
# CMSIS-NN: the TFLM wrapper plus the CMSIS-NN functions it links (sum KWS + helpers = 41,400 B)
_CMSIS = {
    "CONV_2D": 12000,
    "DEPTHWISE_CONV_2D": 11000,
    "FULLY_CONNECTED": 5400,
    "AVERAGE_POOL_2D": 3400,
    "MAX_POOL_2D": 3400,
    "SOFTMAX": 5000,
    "RESHAPE": 1000,
    "ADD": 4600,
    "MUL": 3800,
    "TRANSPOSE_CONV": 8000,
    "BATCH_MATMUL": 6000,
}
_CMSIS_HELPERS = 3600
_DEFAULT_KERNEL = 3000  # an op not in the tables: typical reference kernel size (estimate)

FLASH_METHOD = (
    "flatbuffer + TFLM framework (Cortex-M4 release build, measured) + per-kernel code "
    "(KWS-set sums measured, split per kernel estimated)"
)


def kernel_code_bytes(op_names: set[str], kernels: str) -> dict[str, int]:
    """Code bytes per distinct op, plus the shared helpers under the key '(helpers)'."""
    optimized = kernels in ("cmsis-nn", "cmsis-nn-helium", "esp-nn", "mvp")
    table = _CMSIS if optimized else {}
    out = {name: table.get(name, _REFERENCE.get(name, _DEFAULT_KERNEL)) for name in sorted(op_names)}
    out["(helpers)"] = _CMSIS_HELPERS if optimized else _REFERENCE_HELPERS
    return out


def flash_bytes(
    model_bytes: int, op_names: set[str], kernels: str, framework_bytes: float, code_size_factor: float
) -> tuple[int, dict[str, int]]:
    code = kernel_code_bytes(op_names, kernels)
    total = model_bytes + (framework_bytes + sum(code.values())) * code_size_factor
    return int(round(total)), code
