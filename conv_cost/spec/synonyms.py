"""What users write for what convcost calls otherwise: hints by meaning, where a did-you-mean by
spelling would mislead (`activation` is not `dilation`, `reshape` is not `repeat`)."""

from __future__ import annotations

_USE = "use type: {}"

# Layer types of PyTorch, Keras and papers -> how to write them here (or why they cannot be).
TYPE_SYNONYMS = {
    **{w: _USE.format("conv") for w in ("conv2d", "convolution", "convolution2d")},
    **{w: _USE.format("dwconv") for w in ("depthwise", "depthwiseconv", "depthwiseconv2d", "dwconv2d",
                                          "depthwise_conv")},
    **{w: _USE.format("deconv") for w in ("conv2dtranspose", "convtranspose2d", "transposedconv", "transposed_conv",
                                          "upconv", "deconvolution")},
    **{w: _USE.format("bn") for w in ("batchnorm2d", "batch_norm", "batchnormalization", "bn2d")},
    **{w: _USE.format("maxpool") for w in ("maxpool2d", "maxpooling2d", "max_pool", "maxpooling")},
    **{w: _USE.format("avgpool") for w in ("avgpool2d", "averagepooling2d", "avg_pool", "averagepool")},
    **{w: _USE.format("gap") for w in ("globalaveragepooling2d", "globalavgpool", "adaptiveavgpool2d",
                                       "global_avg_pool", "globalaveragepool")},
    **{w: _USE.format("gmp") for w in ("globalmaxpooling2d", "globalmaxpool", "adaptivemaxpool2d")},
    **{w: _USE.format("fc") for w in ("fullyconnected", "fully_connected", "matmul", "gemm")},
    **{w: _USE.format("add") for w in ("sum", "plus", "residual_add")},
    **{w: _USE.format("concat") for w in ("cat", "concatenate")},
    **{w: _USE.format("mul") for w in ("multiply", "product", "mult", "se_scale")},
    **{w: _USE.format("upsample") for w in ("interpolate", "resize", "upsampling2d", "upsampling")},
    **{w: _USE.format("shuffle") for w in ("channelshuffle", "channel_shuffle")},
    **{w: "use type: slice (channels: [start, stop]), once for each part" for w in ("split", "chunk", "narrow")},
    **{w: _USE.format("layernorm") for w in ("layer_norm", "layernorm2d")},
    **{w: _USE.format("hardsigmoid") for w in ("hsigmoid", "hard_sigmoid")},
    **{w: "convcost has no general reshape; use type: flatten to turn a map into a vector"
       for w in ("reshape", "view")},
    **{w: "padding is a key of conv, dwconv, deconv and the pools: write padding: 1 (or "
          "[top, bottom, left, right]) on the layer that reads the padded map" for w in ("pad", "zeropad", "zeropad2d",
                                                                                     "zeropadding2d", "padding")},
    "conv1d": ("convcost counts 2-D layers: write a 1-D conv as a conv on an input of [1, L, C] with kernel: [1, k] "
               "(and stride: [1, s]); the counts are those of the 1-D conv"),
    "conv3d": "3-D convolutions are not supported: convcost counts 2-D networks on H x W x C inputs",
    **{w: ("not a convcost type; any activation costs 1 FLOP per element, so type: relu counts it (PReLU's learned "
           "slopes are not counted)") for w in ("leakyrelu", "leaky_relu", "prelu", "elu", "selu", "mish")},
    **{w: "group normalization is not supported; type: layernorm counts the same FLOPs per element and 2*C params"
       for w in ("groupnorm", "group_norm")},
}

# Keys of other tools -> the key convcost reads (a name), or advice (a sentence).
KEY_SYNONYMS = {
    "activation": ("a layer takes no activation key: put a {type: relu} layer (or another activation) after it"),
    "size": "kernel", "pool_size": "kernel", "kernel_size": "kernel", "ksize": "kernel", "window": "kernel",
    "strides": "stride",
    "out_channels": "filters", "channels_out": "filters", "num_filters": "filters", "out": "filters",
    "num_output": "filters", "features": "units",
    "out_features": "units", "outputs": "units", "num_outputs": "units", "hidden": "units",
    "use_bias": "bias", "dilation_rate": "dilation", "depth_multiplier": "multiplier", "num_groups": "groups",
    "pad": "padding", "pads": "padding", "scale_factor": "scale", "factor": "scale",
    "in_channels": "convcost takes the input channels from the layer before; leave the key out",
    "in_features": "convcost takes the input size from the layer before; leave the key out",
}


def type_hint(word: str) -> str:
    """'; use type: flatten...' for a type another tool would understand, else ''."""
    advice = TYPE_SYNONYMS.get(word.lower().replace("-", "_")) or TYPE_SYNONYMS.get(word.lower().replace("_", ""))
    return f"; {advice}" if advice else ""


def key_hint(word: str, allowed) -> str:
    """"; did you mean 'kernel'?" when the word means an allowed key, or advice; else ''."""
    target = KEY_SYNONYMS.get(word.lower())
    if target is None:
        return ""
    if " " in target:
        return f"; {target}"
    return f"; did you mean '{target}'?" if target in allowed else ""
