"""Build the optional compiled kernel; everything else is in pyproject.toml.

Three modules: the engine (``_native``), Pillow's box passes (``_native_box``) and
the widening of rows to Pillow's pixels (``_native_pixels``).
``-ffp-contract=off`` keeps every SIMD level's arithmetic identical (no level
fuses a multiply and an add that another does not). The extension is optional:
if it cannot be built, the package installs and runs on its NumPy engine.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pil_parallel_blur._native",
            sources=["pil_parallel_blur/_native.c"],
            depends=[
                "pil_parallel_blur/_native_level.h",
                "pil_parallel_blur/_native_loops.h",
                "pil_parallel_blur/_native_lines.h",
                "pil_parallel_blur/_native_fft.h",
                "pil_parallel_blur/_native_cpu.h",
                "pil_parallel_blur/_native_buffers.h",
                "pil_parallel_blur/_native_pixel_words.h",
            ],
            extra_compile_args=["-O3", "-std=c11", "-ffp-contract=off", "-fno-math-errno"],
            optional=True,
        ),
        # Pillow's own box passes (pil_parallel_blur.pillow): integer arithmetic only
        Extension(
            "pil_parallel_blur._native_box",
            sources=["pil_parallel_blur/_native_box.c"],
            depends=["pil_parallel_blur/_native_cpu.h", "pil_parallel_blur/_native_buffers.h"],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        ),
        # Rows widened to the 4-byte pixels Pillow stores (pillow_adapter.py): copies only
        Extension(
            "pil_parallel_blur._native_pixels",
            sources=["pil_parallel_blur/_native_pixels.c"],
            depends=["pil_parallel_blur/_native_pixel_words.h"],
            extra_compile_args=["-O3", "-std=c11"],
            optional=True,
        ),
    ]
)
