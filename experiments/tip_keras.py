"""§7 的 Keras 写法：本节网络在 Keras 中的对应搭法（不是 section；本次构建不导入 TensorFlow）。

tests/test_ensemble.py 用它搭出网络，从与 NumPy 批量集成相同的初始权重出发训练，核对两者的损失相同。
"""
from __future__ import annotations


def keras_model(sizes, activation="relu", batchnorm=False, dropout=0.0, init="glorot_uniform", bn_momentum=0.99):
    """按 7.1–7.5 节的技巧搭一个 Keras 网络：sizes 如 (2, 32, 32, 1)，输出层给出 logit。

    activation：隐藏层的激活函数（"relu" 或 "sigmoid"，7.1 节）；batchnorm：每个隐藏层的线性变换与激活函数
    之间加 BN（7.2 节）；dropout：每个隐藏层之后的 Dropout 比例（7.3 节）；init：隐藏层的初始化，
    如 "he_normal"（7.4 节）。优化器见 keras_optimizer（7.5 节）。
    """
    import keras

    layers = [keras.Input(shape=(sizes[0],))]
    for width in sizes[1:-1]:
        # 加 BN 时线性层不要偏置：BN 的 β 代替了它
        layers.append(keras.layers.Dense(width, use_bias=not batchnorm, kernel_initializer=init))
        if batchnorm:
            layers.append(keras.layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-3))
        layers.append(keras.layers.Activation(activation))
        if dropout > 0:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(1))  # logit；损失用 BinaryCrossentropy(from_logits=True)
    return keras.Sequential(layers)


def keras_optimizer(name, learning_rate):
    """7.5 节的三种优化器：普通 SGD、SGD+Momentum（μ = 0.9）和 Adam（Keras 默认的 β₁、β₂、ε）。"""
    import keras

    if name == "sgd":
        return keras.optimizers.SGD(learning_rate)
    if name == "momentum":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    raise ValueError(f"未知的优化器：{name!r}")
