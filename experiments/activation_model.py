"""The notebook's activation model (§6), run by §5 on the model it has just trained.

Its own module so that both sections can import it cheaply: §5 calls it, §6 shows its source.
Importing this module does not import TensorFlow; calling the function needs a Keras model,
which only exists in §5's process. §6 therefore needs neither TensorFlow nor a second model.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import numpy as np


def activations_per_layer(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """笔记本的激活模型，在 Keras 3 上只改了一处：model.input 换成 model.inputs。
    在 Keras 3 上，单数的 model.input 对 Sequential 模型会报错（以 keras.Input 开头也一样），
    复数的 model.inputs 则可用。"""
    import keras

    layer_outputs = [layer.output for layer in model.layers]  # 每一层的输出
    activation_model = keras.Model(inputs=model.inputs, outputs=layer_outputs)
    return activation_model.predict(x, verbose=0)  # 一次前向传播，返回所有层的激活
