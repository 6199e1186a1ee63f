"""Install zoo: pick exactly one MXNet build through an extra.

    pip install -e ".[cpu,test]"    # any machine
    pip install -e ".[gpu,test]"    # CUDA 11.2 + cuDNN 8 + NCCL, compute capability <= 8.6
"""
from setuptools import find_packages, setup

# MXNet 1.9.1 is the last release; it imports only with numpy < 1.24 (np.bool was removed).
NUMPY = "numpy>=1.20,<1.24"

setup(
    name="zoo",
    version="0.1.0",
    description="A Gluon (MXNet) model zoo for embedding models that score with a dot product",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["zoo", "zoo.*"]),
    package_data={"zoo.ops": ["*.cc", "*.h"]},  # compiled on first use, against the installed MXNet's headers
    python_requires=">=3.8,<3.12",
    install_requires=[NUMPY, "gluonnlp==0.10.0", "tqdm", "pyyaml"],
    extras_require={
        "cpu": ["mxnet==1.9.1"],
        "gpu": ["mxnet-cu112==1.9.1"],
        # ONNX export: onnx 1.19 no longer has onnx.mapping, which MXNet's exporter imports.
        "export": ["onnx>=1.15,<1.19", "onnxruntime>=1.16,<1.33"],
        "plot": ["matplotlib>=3.5,<3.10"],
        # tools/search.py; optuna 4.x keeps working with numpy < 1.24 (the pin stays beside it)
        "search": ["optuna>=4.0,<5", NUMPY],
        # The tests check every exporter and the plot too; gensim reads our word2vec files (4.3 is its last
        # line that works with numpy < 1.24).
        "test": ["pytest>=7", "hypothesis", "gensim>=4.3,<4.4", "onnx>=1.15,<1.19", "onnxruntime>=1.16,<1.33",
                 "matplotlib>=3.5,<3.10", "optuna>=4.0,<5"],
        # peers for tools/bench.py; pinned to releases that work with numpy < 1.24
        "bench": ["gensim>=4.3,<4.4", "scikit-surprise==1.1.4", "pandas<2.1", "implicit>=0.7,<0.8",
                  "libmf==0.9.2"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
    ],
)
