"""Golden vectors of the ecf codec (prefix ``ecf.codec.``): the signal convention (always) and,
for the lowest shipped quality, the whole bitstream of a 64 x 64 crop of the bundled photograph.
"""

from __future__ import annotations

import numpy as np

from ref.conformance.golden import Vector, allclose

#: the bundled photograph's crop coded by the bitstream vector (rows, columns)
CROP = (slice(200, 264), slice(300, 364))


def _crop() -> np.ndarray:
    from ref.data.imageio import bundled_image_path, read_image

    return np.ascontiguousarray(read_image(bundled_image_path())[CROP][:, :, :3])


# --------------------------------------------------------------------------- signal
def _signal_inputs():
    rng = np.random.default_rng(15)
    return {"img": rng.integers(0, 256, (20, 150, 3), dtype=np.uint8),
            "grey": rng.integers(0, 256, (17, 16, 1), dtype=np.uint8),
            "x_hat": rng.normal(0.5, 0.4, (1, 128, 256, 3)).astype(np.float32)}


def _signal_run(inputs):
    from ref.ecf.codec import pad_image, to_network, to_uint8

    return {"padded": pad_image(inputs["img"]), "x_grey": to_network(pad_image(inputs["grey"])),
            "u8": to_uint8(inputs["x_hat"], 20, 150, 3), "u8_grey": to_uint8(inputs["x_hat"], 17, 16, 1)}


# --------------------------------------------------------------------------- bitstream
def _check_model(quality: int, model: str):
    from ref.conformance.golden import GoldenError
    from ref.ecf.codec import get_model

    have = get_model(quality).model_id
    if have != model:
        raise GoldenError(f"ecf quality {quality}: vector made with checkpoint {model}, this tree ships {have} "
                          "(retrained? run codecref golden regen --id ecf.codec --write)")


def _bitstream_inputs(quality: int):
    from ref.ecf.codec import encode_image

    img = _crop()
    return {"img": img, "stream": encode_image(img, quality)}


def _bitstream_run(inputs, quality, model):
    from ref.core.container import unpack
    from ref.ecf.codec import decode_container, encode_image

    _check_model(quality, model)
    lat: dict = {}
    recon = decode_container(unpack(bytes(inputs["stream"]), expect_system="ecf"), latent=lat)
    return {"bitstream": encode_image(inputs["img"], quality), "y_hat": lat["y_hat"].astype(np.int64),
            "z_hat": lat["z_hat"].astype(np.int64), "recon": recon}


def _shipped_vectors() -> list[Vector]:
    from ref.ecf.codec import get_model, shipped_qualities

    q = shipped_qualities()
    if not q:
        return []
    q = q[0]
    model = get_model(q).model_id
    return [Vector(
        id=f"ecf.codec.q{q}.photo64", equations=("ecf.bits", "ecf.bits_image"),
        function="ref.ecf.codec.encode_image / decode_container",
        make_inputs=lambda q=q: _bitstream_inputs(q), run=_bitstream_run, params={"quality": q, "model": model},
        rules={"recon": allclose(0, 1)},
        description=f"a 64x64 crop of the bundled photograph coded at ecf quality {q}: container bytes, "
                    "and y^, z^, pixels decoded from the stored stream",
        params_doc={"quality": "ecf quality Q (header field quality)",
                    "model": "checkpoint identity (header field model) of ref/weights/ecf_q<Q>.safetensors"},
        inputs_doc={"img": "uint8 (64, 64, 3): rows 200..263, columns 300..363 of the bundled photograph "
                           "(ref.data.imageio.bundled_image_path)",
                    "stream": "bytes: the ecf container of img made by the encoder when the vector was stored "
                              "(decoded by run: the decoder side does not depend on the encoder's floats)"},
        outputs_doc={"bitstream": "bytes: encode_image(img, Q) ([ecf.bits]: header, shape, z, z_esc, y0..y7, "
                                  "y_esc); exact on the platform that made it (the encoder's float g_a and h_a "
                                  "decide y^ = round(y), z^ = round(z))",
                     "y_hat": "int64 (8, 8, M): the latent decoded from input stream ([ecf.bits] group by group "
                              "with the integer context model; integers only, exact on every platform)",
                     "z_hat": "int64 (2, 2, N): the hyper-latent decoded from input stream (exact)",
                     "recon": "uint8 (64, 64, 3): g_s(y^) converted by [ecf.bits_image], within 1 of the stored "
                              "pixels (float g_s)"})]


VECTORS = [
    Vector(
        id="ecf.codec.signal", equations=("ecf.bits_image",),
        function="ref.ecf.codec.pad_image / to_network / to_uint8",
        make_inputs=_signal_inputs, run=_signal_run,
        rules={"x_grey": allclose(0, 0)},
        description="image padding to multiples of 128 and the pixel <-> network convention",
        inputs_doc={"img": "uint8 (20, 150, 3) random pixels", "grey": "uint8 (17, 16, 1) random grey pixels",
                    "x_hat": "float32 (1, 128, 256, 3) ~ N(0.5, 0.4): a decoder output before conversion"},
        outputs_doc={"padded": "uint8 (128, 256, 3): img padded by edge replication to multiples of 128 "
                               "([ecf.bits_image], [ecf.C10])",
                     "x_grey": "float32 (1, 128, 128, 3): grey padded, u8 / 255 in float32, repeated on 3 "
                               "channels (exact: one correctly rounded division)",
                     "u8": "uint8 (20, 150, 3): clip(round_half_even(255 x_hat), 0, 255) cropped to 20x150",
                     "u8_grey": "uint8 (17, 16, 1): the same cropped to 17x16, then the mean of the three "
                                "channels rounded half to even"}),
] + _shipped_vectors()
