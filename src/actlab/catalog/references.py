"""Papers and libraries the catalog's activations come from."""

from __future__ import annotations

from actlab.catalog.spec import Reference


def library(name: str, url: str, year: int) -> Reference:
    """An activation whose origin is a library's definition rather than a paper."""
    return Reference(title=f"{name} (library definition)", authors=name, year=year, url=url)


PYTORCH = library(
    "PyTorch", "https://pytorch.org/docs/stable/nn.html#non-linear-activations-weighted-sum-nonlinearity", 2016
)
KERAS = library("Keras", "https://keras.io/api/layers/activations/", 2015)
JAX = library("JAX", "https://docs.jax.dev/en/latest/jax.nn.html", 2018)
TIMM = library("timm", "https://github.com/huggingface/pytorch-image-models", 2019)
ACTIVATION_TABLE = Reference(
    title="Activation function (table of activation functions)",
    authors="Wikipedia contributors",
    year=2017,
    url="https://en.wikipedia.org/wiki/Activation_function",
)

LECUN_EFFICIENT_BACKPROP = Reference(
    "Efficient BackProp", "LeCun, Bottou, Orr, Müller", 1998, "Neural Networks: Tricks of the Trade, LNCS 1524"
)
NAIR_HINTON_RELU = Reference(
    "Rectified Linear Units Improve Restricted Boltzmann Machines", "Nair, Hinton", 2010, "ICML 2010"
)
KRIZHEVSKY_RELU6 = Reference(
    "Convolutional Deep Belief Networks on CIFAR-10",
    "Krizhevsky",
    2010,
    "Unpublished manuscript, University of Toronto",
)
MAAS_LEAKY = Reference(
    "Rectifier Nonlinearities Improve Neural Network Acoustic Models",
    "Maas, Hannun, Ng",
    2013,
    "ICML Workshop on Deep Learning for Audio, Speech and Language Processing",
)
HE_PRELU = Reference(
    "Delving Deep into Rectifiers: Surpassing Human-Level Performance on ImageNet Classification",
    "He, Zhang, Ren, Sun",
    2015,
    arxiv="1502.01852",
)
XU_RRELU = Reference(
    "Empirical Evaluation of Rectified Activations in Convolutional Network",
    "Xu, Wang, Chen, Li",
    2015,
    arxiv="1505.00853",
)
CLEVERT_ELU = Reference(
    "Fast and Accurate Deep Network Learning by Exponential Linear Units (ELUs)",
    "Clevert, Unterthiner, Hochreiter",
    2015,
    arxiv="1511.07289",
)
KLAMBAUER_SELU = Reference(
    "Self-Normalizing Neural Networks", "Klambauer, Unterthiner, Mayr, Hochreiter", 2017, arxiv="1706.02515"
)
BARRON_CELU = Reference("Continuously Differentiable Exponential Linear Units", "Barron", 2017, arxiv="1704.07483")
HENDRYCKS_GELU = Reference("Gaussian Error Linear Units (GELUs)", "Hendrycks, Gimpel", 2016, arxiv="1606.08415")
ELFWING_SILU = Reference(
    "Sigmoid-Weighted Linear Units for Neural Network Function Approximation in Reinforcement Learning",
    "Elfwing, Uchibe, Doya",
    2017,
    arxiv="1702.03118",
)
RAMACHANDRAN_SWISH = Reference("Searching for Activation Functions", "Ramachandran, Zoph, Le", 2017, arxiv="1710.05941")
HOWARD_MOBILENETV3 = Reference("Searching for MobileNetV3", "Howard et al.", 2019, arxiv="1905.02244")
COURBARIAUX_BINARYCONNECT = Reference(
    "BinaryConnect: Training Deep Neural Networks with binary weights during propagations",
    "Courbariaux, Bengio, David",
    2015,
    arxiv="1511.00363",
)
MISRA_MISH = Reference("Mish: A Self Regularized Non-Monotonic Activation Function", "Misra", 2019, arxiv="1908.08681")
LIU_TANHEXP = Reference(
    "TanhExp: A Smooth Activation Function with High Convergence Speed for Lightweight Neural Networks",
    "Liu, Di",
    2020,
    arxiv="2003.09855",
)
NAG_SERF = Reference(
    "SERF: Towards better training of deep neural networks using log-Softplus ERror activation Function",
    "Nag, Bhattacharyya",
    2021,
    arxiv="2108.09598",
)
WANG_SMISH = Reference(
    "Smish: A Novel Activation Function for Deep Learning Methods",
    "Wang, Ren, Wang",
    2022,
    "Electronics 11(4):540",
    url="https://doi.org/10.3390/electronics11040540",
)
ZHU_LOGISH = Reference(
    "Logish: A new nonlinear nonmonotonic activation function for convolutional neural network",
    "Zhu, Zeng, Wang, Huang, Wang, Xie",
    2021,
    "Neurocomputing 458:490-499",
    url="https://doi.org/10.1016/j.neucom.2021.06.067",
)
ROY_LISHT = Reference(
    "LiSHT: Non-Parametric Linearly Scaled Hyperbolic Tangent Activation Function for Neural Networks",
    "Roy, Manna, Dubey, Chaudhuri",
    2019,
    arxiv="1901.05894",
)
BASIRAT_ELISH = Reference("The Quest for the Golden Activation Function", "Basirat, Roth", 2018, arxiv="1808.00783")
CARLILE_ISRLU = Reference(
    "Improving Deep Learning by Inverse Square Root Linear Units (ISRLUs)",
    "Carlile, Delamarter, Kinney, Marti, Whitney",
    2017,
    arxiv="1710.09967",
)
BARRON_SQUAREPLUS = Reference("Squareplus: A Softplus-Like Algebraic Rectifier", "Barron", 2021, arxiv="2112.11687")
DUGAS_SOFTPLUS = Reference(
    "Incorporating Second-Order Functional Knowledge for Better Option Pricing",
    "Dugas, Bengio, Bélisle, Nadeau, Garcia",
    2001,
    "NeurIPS 2000 (published 2001)",
)
GLOROT_SOFTSIGN = Reference(
    "Understanding the difficulty of training deep feedforward neural networks", "Glorot, Bengio", 2010, "AISTATS 2010"
)
COLLOBERT_HARDTANH = Reference("Large Scale Machine Learning", "Collobert", 2004, "PhD thesis, Université Paris VI")
DONOHO_SHRINK = Reference(
    "De-noising by soft-thresholding", "Donoho", 1995, "IEEE Transactions on Information Theory 41(3):613-627"
)
ZIYIN_SNAKE = Reference(
    "Neural Networks Fail to Learn Periodic Functions and How to Fix It",
    "Liu Ziyin, Hartwig, Ueda",
    2020,
    arxiv="2006.08195",
)
SITZMANN_SIREN = Reference(
    "Implicit Neural Representations with Periodic Activation Functions",
    "Sitzmann, Martel, Bergman, Lindell, Wetzstein",
    2020,
    arxiv="2006.09661",
)
NOEL_GCU = Reference(
    "Growing Cosine Unit: A Novel Oscillatory Activation Function That Can Speedup Training and Reduce Parameters in "
    "Convolutional Neural Networks",
    "Noel, Trivedi, Dutta, Bharadwaj, Prasad",
    2021,
    arxiv="2108.12943",
)
MA_MEGA = Reference(
    "Mega: Moving Average Equipped Gated Attention",
    "Ma, Zhou, Kong, He, Gui, Neubig, May, Zettlemoyer",
    2022,
    arxiv="2209.10655",
)
SO_PRIMER = Reference(
    "Primer: Searching for Efficient Transformers for Language Modeling",
    "So, Mańke, Liu, Dai, Shazeer, Le",
    2021,
    arxiv="2109.08668",
)
YU_METAFORMER = Reference(
    "MetaFormer Baselines for Vision", "Yu, Si, Zhou, Li, Zhou, Feng, Wang, Yan", 2022, arxiv="2210.13452"
)
HUANG_XIELU = Reference("Deriving Activation Functions Using Integration", "Huang, Schlag", 2024, arxiv="2411.13010")
ELLIOTT = Reference(
    "A Better Activation Function for Artificial Neural Networks",
    "Elliott",
    1993,
    "Institute for Systems Research, University of Maryland, Technical Report TR 93-8",
)
ZHOU_SRS = Reference("Soft-Root-Sign Activation Function", "Zhou, Li, Liu, Zhang", 2020, arxiv="2003.00547")
CHENG_PDELU = Reference(
    "Parametric Deformable Exponential Linear Units for deep neural networks",
    "Cheng, Li, Wu, Ma, Ngan",
    2020,
    "Neural Networks 125:281-289",
    url="https://doi.org/10.1016/j.neunet.2020.02.012",
)
JIN_SRELU = Reference(
    "Deep Learning with S-shaped Rectified Linear Activation Units",
    "Jin, Xu, Feng, Wei, Xiong, Yan",
    2015,
    arxiv="1512.07030",
)
AGOSTINELLI_APL = Reference(
    "Learning Activation Functions to Improve Deep Neural Networks",
    "Agostinelli, Hoffman, Sadowski, Baldi",
    2014,
    arxiv="1412.6830",
)
MOLINA_PAU = Reference(
    "Padé Activation Units: End-to-end Learning of Flexible Activation Functions in Deep Networks",
    "Molina, Schramowski, Kersting",
    2019,
    arxiv="1907.06732",
)
SINGH_TLU = Reference(
    "Filter Response Normalization Layer: Eliminating Batch Dependence in the Training of Deep Neural Networks",
    "Singh, Krishnan",
    2019,
    arxiv="1911.09737",
)
GOODFELLOW_MAXOUT = Reference(
    "Maxout Networks", "Goodfellow, Warde-Farley, Mirza, Courville, Bengio", 2013, arxiv="1302.4389"
)
DAUPHIN_GLU = Reference(
    "Language Modeling with Gated Convolutional Networks", "Dauphin, Fan, Auli, Grangier", 2016, arxiv="1612.08083"
)
SHAZEER_GLU_VARIANTS = Reference("GLU Variants Improve Transformer", "Shazeer", 2020, arxiv="2002.05202")
