"""Board facts for the bundled target profiles: datasheet figures and the memory system.

The memory facts decide what one byte of weights costs to stream (``wbyte`` unit): internal
flash costs (wait states + 1) CPU cycles per read of `read_bytes`; external flash behind a cache
costs one cache-line fill per line. A fact no source gave is written as an assumption
(`ASSUMED_WS`, `ASSUMED_READ_BYTES`) and said so in the profile.
"""

from __future__ import annotations

from dataclasses import dataclass

ASSUMED_WS = 2  # wait states when no source gave them
ASSUMED_READ_BYTES = 4  # flash read width when no source gave it: one word of the core's bus (32-bit AHB)


@dataclass(frozen=True)
class Memory:
    weights_in: str  # internal-flash | external-flash | mram
    wait_states: int | None  # flash wait states at the inference clock, in CPU cycles (None: not found)
    read_bytes: int | None  # bytes per flash read (None: not found)
    line_fill_cycles: float | None = None  # external flash: CPU cycles per cache-line fill
    line_bytes: int | None = None
    source: str = ""
    bus_bytes: int = ASSUMED_READ_BYTES  # the core's bus width, used when read_bytes was not found

    @property
    def cycles_per_byte(self) -> float:
        if self.line_fill_cycles is not None and self.line_bytes:
            return self.line_fill_cycles / self.line_bytes
        ws = ASSUMED_WS if self.wait_states is None else self.wait_states
        return (ws + 1) / (self.read_bytes or self.bus_bytes)

    def describe(self) -> str:
        if self.line_fill_cycles is not None:
            how = f"{self.line_fill_cycles:g} CPU cycles per {self.line_bytes}-byte cache-line fill"
        else:
            ws = (
                f"{self.wait_states} wait states"
                if self.wait_states is not None
                else f"{ASSUMED_WS} wait states (assumed: not found)"
            )
            rb = (
                f"{self.read_bytes}-byte reads"
                if self.read_bytes
                else f"{self.bus_bytes}-byte reads (assumed: not found; the width of the core's bus)"
            )
            how = f"{ws}, {rb}"
        return f"weights in {self.weights_in}: {how} = {self.cycles_per_byte:.3g} cycles per byte streamed"


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    mcu: str
    core: str
    clock_mhz: float
    sram_kb: int
    flash_kb: int
    kernels: str
    source: str
    notes: str
    memory: Memory


_ST_WS = "hal_stm32 stm32{}xx_ll_utils.c flash latency table"
BOARDS: tuple[Board, ...] = (
    Board(
        "nano33ble",
        "Arduino Nano 33 BLE Sense",
        "nRF52840",
        "cortex-m4f",
        64,
        256,
        1024,
        "cmsis-nn",
        "Nordic nRF52840 product specification; Arduino board documentation",
        "",
        Memory(
            "internal-flash",
            None,
            None,
            source="Nordic nRF52840 PS 4.3.8 (NVMC cache caches instruction "
            "fetches only; wait states and read width not given)",
        ),
    ),
    Board(
        "nucleo-l4r5zi",
        "ST NUCLEO-L4R5ZI",
        "STM32L4R5ZI",
        "cortex-m4f",
        120,
        640,
        2048,
        "cmsis-nn",
        "ST STM32L4R5xx datasheet",
        "Calibrated on the MLPerf Tiny v0.5 reference build (TFLM 2.3.1, 2020); current TFLM + CMSIS-NN needs "
        "fewer cycles, so this profile is conservative.",
        Memory(
            "internal-flash",
            5,
            8,
            source=_ST_WS.format("l4") + " (5 WS, 100-120 MHz); stm32l4xx_hal_flash.c "
            "(64 data bits per flash read; ART: prefetch and 32 lines x 32 B of cache on I-Code, 8 lines x 32 B "
            "on D-Code)",
        ),
    ),
    Board(
        "nucleo-h7a3zi",
        "ST NUCLEO-H7A3ZI-Q",
        "STM32H7A3ZI",
        "cortex-m7",
        280,
        1376,
        2048,
        "cmsis-nn",
        "ST STM32H7A3xI datasheet",
        "",
        Memory(
            "internal-flash",
            6,
            16,
            source=_ST_WS.format("h7") + " (6 WS at 264-280 MHz); "
            "stm32h7xx_hal_flash.c (128-bit flash word on STM32H7Ax)",
        ),
    ),
    Board(
        "portenta-h7",
        "Arduino Portenta H7 (M7 core)",
        "STM32H747XI",
        "cortex-m7",
        480,
        1024,
        2048,
        "cmsis-nn",
        "ST STM32H747xI datasheet; Arduino board documentation",
        "",
        Memory(
            "internal-flash",
            9,
            32,
            source="embassy-stm32 rcc/h.rs and mbed-os PORTENTA_H7 clock code: 4 WS "
            "at HCLK 240 MHz = CPU/2, i.e. (4+1)x2-1 = 9 CPU-cycle waits; stm32h7xx_hal_flash.c "
            "(256-bit flash word on STM32H74x)",
        ),
    ),
    Board(
        "nrf5340dk",
        "Nordic nRF5340 DK (application core)",
        "nRF5340",
        "cortex-m33",
        128,
        512,
        1024,
        "cmsis-nn",
        "Nordic nRF5340 product specification",
        "",
        Memory(
            "internal-flash",
            None,
            None,
            source="Nordic nRF5340 PS, CACHE peripheral (caches instruction and "
            "data; wait states and read width not given)",
        ),
    ),
    Board(
        "ek-ra6m4",
        "Renesas EK-RA6M4",
        "R7FA6M4AF",
        "cortex-m33",
        200,
        256,
        1024,
        "cmsis-nn",
        "Renesas RA6M4 datasheet",
        "",
        Memory(
            "internal-flash",
            3,
            None,
            source="renesas/fsp ra6m4 bsp_feature.h + bsp_clocks.c (3 ROM wait "
            "cycles above 150 MHz; flash cache present; read width not given)",
        ),
    ),
    Board(
        "ek-ra8d1",
        "Renesas EK-RA8D1",
        "R7FA8D1BH",
        "cortex-m85",
        480,
        1024,
        2048,
        "cmsis-nn-helium",
        "Renesas RA8D1 datasheet",
        "",
        Memory(
            "internal-flash",
            9,
            None,
            source="renesas/fsp ra8d1 bsp_feature.h (4 ROM waits up to ICLK "
            "240 MHz; ICLK = CPU/2 assumed, so (4+1)x2-1 = 9 CPU-cycle waits; read width not given)",
            bus_bytes=8,  # Cortex-M85: 64-bit AXI master
        ),
    ),
    Board(
        "xg24",
        "Silicon Labs xG24 Dev Kit",
        "EFR32MG24",
        "cortex-m33",
        78,
        256,
        1536,
        "mvp",
        "Silicon Labs EFR32MG24 datasheet",
        "Ops the MVP matrix-vector accelerator supports run there (Gecko SDK / MLTK kernels); the rest on the CPU.",
        Memory(
            "internal-flash",
            1,
            None,
            source="hal_silabs em_cmu.c (1 WS above 40 MHz on series-2 config 4; read width not given)",
        ),
    ),
    Board(
        "nucleo-g0b1re",
        "ST NUCLEO-G0B1RE",
        "STM32G0B1RE",
        "cortex-m0plus",
        64,
        144,
        512,
        "cmsis-nn",
        "ST STM32G0B1xx datasheet",
        "Cortex-M0+ has no DSP extension: CMSIS-NN runs its plain C paths.",
        Memory(
            "internal-flash",
            2,
            8,
            source=_ST_WS.format("g0") + " (2 WS at 64 MHz); RM0444 3.3.1 (64 data bits per read)",
        ),
    ),
    Board(
        "rp2040",
        "Raspberry Pi Pico",
        "RP2040",
        "cortex-m0plus",
        125,
        264,
        2048,
        "cmsis-nn",
        "Raspberry Pi RP2040 datasheet (133 MHz rated; 125 MHz is the pico-sdk default clk_sys, the clock of the "
        "pico-tflmicro benchmark); flash is external QSPI",
        "Single core. pico-tflmicro reports about 590 ms instead of 780-820 ms for person detection with both cores.",
        Memory(
            "external-flash",
            None,
            None,
            50,
            8,
            source="RP2040 datasheet 2.5.3.1 (16 kB XIP cache, 8-byte "
            "lines); oberon-rtk.org flash page: about 400 ns per uncached load = 50 cycles at 125 MHz",
        ),
    ),
    Board(
        "esp32",
        "Espressif ESP32-DevKitC",
        "ESP32",
        "xtensa-lx6",
        240,
        520,
        4096,
        "esp-nn",
        "Espressif ESP32 datasheet",
        "",
        Memory(
            "external-flash",
            None,
            None,
            912,
            32,
            source="esp-idf memory-types (constant data read through "
            "the MMU flash cache); flash mode assumed DIO 40 MHz (esptool default): ~152 SPI clocks per "
            "32-byte line = 3.8 us = 912 CPU cycles",
        ),
    ),
    Board(
        "esp32-s3",
        "Espressif ESP32-S3-DevKitC-1",
        "ESP32-S3",
        "xtensa-lx7",
        240,
        512,
        8192,
        "esp-nn",
        "Espressif ESP32-S3 datasheet",
        "",
        Memory(
            "external-flash",
            None,
            None,
            456,
            32,
            source="esp32s3 PAC dcache_ctrl (16-64 byte blocks); flash "
            "mode assumed DIO 80 MHz: ~152 SPI clocks per 32-byte line = 1.9 us = 456 CPU cycles",
        ),
    ),
    Board(
        "esp32-c3",
        "Espressif ESP32-C3-DevKitM-1",
        "ESP32-C3",
        "riscv32-imc",
        160,
        400,
        4096,
        "esp-nn",
        "Espressif ESP32-C3 datasheet",
        "",
        Memory(
            "external-flash",
            None,
            None,
            304,
            32,
            source="ESP32-C3 datasheet 3.1.5 (16 kB cache, 32-byte "
            "blocks); flash mode assumed DIO 80 MHz: ~152 SPI clocks per line = 1.9 us = 304 CPU cycles",
        ),
    ),
    Board(
        "esp32-p4",
        "Espressif ESP32-P4-Function-EV-Board",
        "ESP32-P4",
        "riscv32-hp",
        360,
        768,
        16384,
        "esp-nn",
        "Espressif ESP32-P4 datasheet (dual RISC-V HP cores up to 400 MHz, 768 kB HP SRAM, up to 16 MB external "
        "flash); 360 MHz is the clock of the esp-tflite-micro benchmark",
        "ESP-NN's P4 optimisation is work in progress (vendor): C fallbacks assumed.",
        Memory(
            "external-flash",
            None,
            None,
            684,
            32,
            source="Zephyr ESP32-P4 docs (L1 + L2 caches in front of "
            "external flash); flash mode assumed DIO 80 MHz: ~152 SPI clocks per 32-byte line = 684 CPU cycles",
        ),
    ),
    Board(
        "sparkfun-edge",
        "SparkFun Edge",
        "Apollo3 Blue",
        "cortex-m4f",
        48,
        384,
        1024,
        "cmsis-nn",
        "Ambiq Apollo3 Blue datasheet",
        "",
        Memory(
            "internal-flash",
            1,
            16,
            source="hal_ambiq apollo3.h FLASHCFG RD_WAIT (1 recommended); am_hal_cachectrl.c (128-bit lines)",
        ),
    ),
    Board(
        "alif-e7-hp",
        "Alif Ensemble E7 (high-performance M55 core)",
        "AE722F80F55D5",
        "cortex-m55",
        400,
        4096,
        5632,
        "cmsis-nn-helium",
        "Alif Ensemble E7 datasheet",
        "The Ethos-U55 NPU is not modelled: CPU Helium kernels.",
        Memory(
            "mram",
            None,
            None,
            source="alif_ensemble-cmsis-dfp soc_features.h (5.5 MB MRAM holds the model); "
            "MRAM wait states and read width not found",
            bus_bytes=8,  # Cortex-M55: 64-bit AXI master
        ),
    ),
    Board(
        "nucleo-f413zh",
        "ST NUCLEO-F413ZH",
        "STM32F413ZH",
        "cortex-m4f",
        100,
        320,
        1536,
        "cmsis-nn",
        "ST STM32F413xG/H datasheet (DS11581)",
        "",
        Memory(
            "internal-flash",
            3,
            16,
            source="cmsis_device_f4 stm32f413xx.h + stm32f4xx_ll_utils.c (3 WS above "
            "90 MHz at 2.7-3.6 V); RM0402 3.2 (128-bit flash bus)",
        ),
    ),
    Board(
        "nucleo-f767zi",
        "ST NUCLEO-F767ZI",
        "STM32F767ZI",
        "cortex-m7",
        216,
        512,
        2048,
        "cmsis-nn",
        "ST STM32F765xx/F767xx datasheet (DS11532)",
        "",
        Memory(
            "internal-flash",
            7,
            32,
            source=_ST_WS.format("f7") + " (7 WS at 210-216 MHz); Arm community STM32F7 blog (256-bit flash word)",
        ),
    ),
)
BOARD_BY_ID: dict[str, Board] = {b.id: b for b in BOARDS}
