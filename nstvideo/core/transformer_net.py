"""TransformerNet: the feed-forward style network of Johnson et al. 2016.

"Perceptual Losses for Real-Time Style Transfer and Super-Resolution", ECCV 2016, with the changes every
maintained implementation has since adopted: instance normalisation instead of batch norm (Ulyanov et al.
2016), reflection padding, and nearest-neighbour upsampling followed by a convolution instead of a
transposed convolution, which removes checkerboard artefacts (Odena et al. 2016,
http://distill.pub/2016/deconv-checkerboard/).

Module names follow pytorch/examples' ``fast_neural_style`` so its state dicts map onto ours key for key.
Pixel convention: input and output are RGB in [0, 1] (see ``pixels.py``); the output is not clamped, so
training gets gradients everywhere.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError

ARCHITECTURE = "transformer_net"
LITE_ARCHITECTURE = "lite_net"
# Every network's two stride-2 convolutions halve the size, so inputs are padded to a multiple of this and cropped back;
# reflection padding also needs at least 2 pixels at the lowest resolution, hence the minimum size.
_SIZE_MULTIPLE = 4
_MIN_SIZE = 8


def pad_for_body(x: torch.Tensor) -> torch.Tensor:
    """Padded at the bottom and right to what ``body`` takes; crop its output back to the input's size."""
    h, w = x.shape[-2:]
    pad_h = max(_MIN_SIZE, h + -h % _SIZE_MULTIPLE) - h
    pad_w = max(_MIN_SIZE, w + -w % _SIZE_MULTIPLE) - w
    # Replicate, not reflect: reflection needs pad < size, which a 1-pixel-high input breaks.
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate") if pad_h or pad_w else x


class InstanceNorm(nn.InstanceNorm2d):
    """Instance norm that can also use statistics recorded earlier, so tiles of a large image are
    normalised like the whole image rather than each by its own statistics (see ``stylize.py``).

    ``mode``: "instance" (the usual), "record" (normalise as usual and keep the statistics), or "fixed"
    (normalise with the kept statistics). Same parameters and state dict as ``nn.InstanceNorm2d``.
    """

    def __init__(self, channels: int):
        super().__init__(channels, affine=True)
        self.mode = "instance"
        self.stats: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "instance":
            return super().forward(x)
        if self.mode == "record":
            var, mean = torch.var_mean(x, dim=(2, 3), keepdim=True, unbiased=False)
            self.stats = (mean, var)
        mean, var = self.stats  # type: ignore[misc]
        y = (x - mean) * torch.rsqrt(var + self.eps)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class ConvLayer(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2d(self.pad(x))


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with an identity shortcut (He et al. 2016), as in Johnson et al.'s supplement."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.in1 = InstanceNorm(channels)
        self.conv2 = ConvLayer(channels, channels, 3)
        self.in2 = InstanceNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(y))


class UpsampleConvLayer(nn.Module):
    """Nearest-neighbour x2 upsampling, then a convolution: no checkerboard, unlike ConvTranspose2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.pad = nn.ReflectionPad2d(kernel_size // 2)
        self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.conv2d(self.pad(x))


MAX_WIDTH = 4.0


def channels_for(width: float) -> tuple[int, int, int]:
    """Channel counts of the three resolutions for a width multiplier (1.0 = Johnson's 32/64/128)."""
    if not 0.0 < width <= MAX_WIDTH:
        raise ConfigError(f"--width must be above 0 and at most 4 (0.5 is 4x cheaper than 1.0), got {width}")
    return tuple(max(4, int(round(c * width))) for c in (32, 64, 128))  # type: ignore[return-value]


def lite_channels_for(width: float) -> tuple[int, int]:
    """LiteNet's channel counts at half and quarter resolution (width 1.0 = 32/64)."""
    return channels_for(width)[:2]  # type: ignore[return-value]


class _StyleNetwork(nn.Module):
    """What every style network shares: same-size output for any input size, switchable norm statistics.

    Subclasses set ``architecture`` (the name style files record), ``width`` and ``residual_blocks``, and
    define ``body``: the layers alone, for an input padded to a multiple of 4 (what an exporter traces).
    """

    architecture = ""
    width: float
    residual_blocks: int

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        return self.body(pad_for_body(x))[..., :h, :w]

    def body(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _add_residual_blocks(self, channels: int, count: int) -> None:
        """``res1`` .. ``resN``: the names pytorch/examples' state dicts use."""
        for i in range(1, count + 1):
            self.add_module(f"res{i}", ResidualBlock(channels))
        self.residual_blocks = count

    def _residual(self, y: torch.Tensor) -> torch.Tensor:
        for i in range(1, self.residual_blocks + 1):
            y = getattr(self, f"res{i}")(y)
        return y

    def set_norm_mode(self, mode: str) -> None:
        """"instance", "record" or "fixed" for every instance norm (see ``InstanceNorm``)."""
        for module in self.modules():
            if isinstance(module, InstanceNorm):
                module.mode = mode
                if mode == "instance":
                    module.stats = None


class TransformerNet(_StyleNetwork):
    """Image -> stylized image of exactly the same height and width, for any size (odd sizes included)."""

    architecture = ARCHITECTURE

    def __init__(self, width: float = 1.0, residual_blocks: int = 5):
        super().__init__()
        self.width = width
        c1, c2, c3 = channels_for(width)
        self.conv1 = ConvLayer(3, c1, 9)
        self.in1 = InstanceNorm(c1)
        self.conv2 = ConvLayer(c1, c2, 3, stride=2)
        self.in2 = InstanceNorm(c2)
        self.conv3 = ConvLayer(c2, c3, 3, stride=2)
        self.in3 = InstanceNorm(c3)
        self._add_residual_blocks(c3, residual_blocks)
        self.deconv1 = UpsampleConvLayer(c3, c2, 3)
        self.in4 = InstanceNorm(c2)
        self.deconv2 = UpsampleConvLayer(c2, c1, 3)
        self.in5 = InstanceNorm(c1)
        self.deconv3 = ConvLayer(c1, 3, 9)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = self._residual(F.relu(self.in3(self.conv3(y))))
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


class LiteNet(_StyleNetwork):
    """The live network: TransformerNet's plan with no feature map at full resolution.

    A strided 5x5 stem goes straight to half resolution and the last layer upsamples (nearest, then a 3x3
    convolution: still no checkerboard) straight to RGB, so full resolution only ever holds the 3-channel
    input and output; the residual blocks work at quarter resolution. At width 1 (32/64 channels, 4 blocks)
    that is about 26k multiply-adds per pixel against width-0.5 TransformerNet's 42k, and far less memory
    traffic, which is what limits a 2-core CPU at 640x360.
    """

    architecture = LITE_ARCHITECTURE

    def __init__(self, width: float = 1.0, residual_blocks: int = 4):
        super().__init__()
        self.width = width
        c1, c2 = lite_channels_for(width)
        self.conv1 = ConvLayer(3, c1, 5, stride=2)
        self.in1 = InstanceNorm(c1)
        self.conv2 = ConvLayer(c1, c2, 3, stride=2)
        self.in2 = InstanceNorm(c2)
        self._add_residual_blocks(c2, residual_blocks)
        self.deconv1 = UpsampleConvLayer(c2, c1, 3)
        self.in3 = InstanceNorm(c1)
        self.deconv2 = UpsampleConvLayer(c1, 3, 3)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        y = self._residual(F.relu(self.in2(self.conv2(y))))
        y = F.relu(self.in3(self.deconv1(y)))
        return self.deconv2(y)


StyleNetwork = TransformerNet | LiteNet
NETWORKS: dict[str, type[_StyleNetwork]] = {ARCHITECTURE: TransformerNet, LITE_ARCHITECTURE: LiteNet}


def build_network(architecture: str, width: float, residual_blocks: int) -> StyleNetwork:
    """The untrained network a style file describes; ``ConfigError`` for an unknown architecture."""
    if architecture not in NETWORKS:
        raise ConfigError(f"unknown network {architecture!r}; choose one of {', '.join(NETWORKS)}")
    return NETWORKS[architecture](width=width, residual_blocks=residual_blocks)  # type: ignore[return-value]
