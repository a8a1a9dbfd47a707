"""Builds gilcore._nogil, the Cython kernels, with OpenMP (for prange)."""
from Cython.Build import cythonize
from setuptools import Extension, setup

openmp = ["-fopenmp"]
extension = Extension(
    "gilcore._nogil",
    ["gilcore/_nogil.pyx"],
    extra_compile_args=["-O2", *openmp],
    extra_link_args=openmp,
)

setup(ext_modules=cythonize([extension], language_level=3))
