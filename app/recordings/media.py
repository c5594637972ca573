"""The bytes of recordings: sniff what an upload really is, assemble tracks, mix the two voices.

Everything here works on files and bytes with PyAV; nothing touches the database.
"""

import heapq
from fractions import Fraction

import av

EBML_MAGIC = b"\x1a\x45\xdf\xa3"
WEBM_VIDEO_CODECS = (b"V_VP8", b"V_VP9", b"V_AV1")
WEBM_AUDIO_CODECS = (b"A_OPUS", b"A_VORBIS")
# what each track may hold
TRACK_TYPES = {"visitor": ("audio/webm", "audio/ogg"), "rep": ("audio/webm", "audio/ogg"),
               "video": ("video/webm",)}


def sniff(data: bytes) -> str | None:
    """The media type of a recording's first bytes, from the bytes themselves; None when unknown."""
    head = data[:4096]
    if head.startswith(EBML_MAGIC) and b"webm" in head[:64]:
        # the Tracks element names the codecs; a video track makes it a video file
        if any(codec in head for codec in WEBM_VIDEO_CODECS):
            return "video/webm"
        if any(codec in head for codec in WEBM_AUDIO_CODECS):
            return "audio/webm"
        return None
    if head.startswith(b"OggS") and (b"OpusHead" in head or b"\x01vorbis" in head):
        return "audio/ogg"
    return None


def base_type(content_type: str | None) -> str:
    """`audio/webm;codecs=opus` → `audio/webm`."""
    return (content_type or "").split(";")[0].strip().lower()


def remux(source: str, target: str, kind: str) -> float:
    """Copy a recorder's stream into a proper WebM (duration, cues: browsers can seek); its duration.

    MediaRecorder writes a live stream with no duration and no index; remuxing (no re-encoding)
    fixes that and proves the upload decodes as the type it claimed.
    """
    wanted = "video" if kind == "video" else "audio"
    end, packets = 0.0, 0
    with av.open(source) as src, av.open(target, "w", format="webm") as dst:
        streams = [s for s in src.streams if s.type in ("audio", "video")]
        if not any(s.type == wanted for s in streams):
            raise ValueError(f"the {kind} track has no {wanted} stream")
        mapping = {s.index: dst.add_stream_from_template(s) for s in streams}
        for packet in src.demux(*streams):
            if packet.dts is None:
                continue  # the demuxer's flush packet
            if packet.pts is not None and packet.time_base:
                end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
            packet.stream = mapping[packet.stream.index]
            dst.mux(packet)
            packets += 1
    if not packets:
        raise ValueError(f"the {kind} track holds no media data")
    return round(end, 3)


def mux_video(video: str, audio: str, target: str) -> None:
    """The call's video with both voices (the mixed audio) as one WebM; no re-encoding.

    The recorders started together, so both files begin at the call's time zero.
    """
    with av.open(video) as vsrc, av.open(audio) as asrc, av.open(target, "w", format="webm") as dst:
        vin, ain = vsrc.streams.video[0], asrc.streams.audio[0]
        vout, aout = dst.add_stream_from_template(vin), dst.add_stream_from_template(ain)
        streams = heapq.merge(_timed(vsrc.demux(vin), vout), _timed(asrc.demux(ain), aout),
                              key=lambda item: item[0])
        for _, packet in streams:
            dst.mux(packet)


def _timed(packets, out_stream):
    """(seconds, packet) in file order, re-pointed at the output stream; muxers want time order."""
    for packet in packets:
        if packet.dts is None:
            continue
        seconds = float(packet.dts * packet.time_base)
        packet.stream = out_stream
        yield seconds, packet


def _decoded(path: str):
    """Every audio frame of a file, as float planar 48 kHz mono, with fresh timestamps."""
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=48000)
    with av.open(path) as container:
        for frame in container.decode(audio=0):
            yield from resampler.resample(frame)
    yield from resampler.resample(None)


def mix_audio(paths: list[str], target: str) -> float:
    """Mix the speakers' tracks into one WebM/Opus file (both voices, for listening); its duration."""
    graph = av.filter.Graph()
    sources = [graph.add_abuffer(format="fltp", sample_rate=48000, layout="mono",
                                 time_base=Fraction(1, 48000)) for _ in paths]
    amix = graph.add("amix", f"inputs={len(paths)}:duration=longest:normalize=0")
    sink = graph.add("abuffersink")
    for i, source in enumerate(sources):
        source.link_to(amix, 0, i)
    amix.link_to(sink)
    graph.configure()
    samples = 0
    with av.open(target, "w", format="webm") as dst:
        stream = dst.add_stream("libopus", rate=48000, layout="mono")
        for frame in _feed(graph, sources, sink, paths):
            samples += frame.samples
            frame.pts = None
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return round(samples / 48000, 3)


def _feed(graph, sources, sink, paths):
    """Push the inputs' frames in time order, yielding the mixed frames as amix releases them."""
    iterators = [_decoded(path) for path in paths]
    positions = [0] * len(paths)
    live = set(range(len(paths)))
    while live:
        i = min(live, key=lambda n: positions[n])  # the input furthest behind goes next
        frame = next(iterators[i], None)
        if frame is None:
            sources[i].push(None)
            live.discard(i)
        else:
            frame.pts = positions[i]
            frame.time_base = Fraction(1, 48000)
            positions[i] += frame.samples
            sources[i].push(frame)
        yield from _drain(sink)
    yield from _drain(sink)


def _drain(sink):
    while True:
        try:
            yield sink.pull()
        except (av.BlockingIOError, av.EOFError):
            return


def decode_pcm16k(path: str) -> bytes:
    """A file's first audio stream as 16 kHz mono signed 16-bit PCM, what speech engines take."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
    out = bytearray()
    with av.open(path) as container:
        for frame in container.decode(audio=0):
            for piece in resampler.resample(frame):
                out += bytes(piece.planes[0])[: piece.samples * 2]
    for piece in resampler.resample(None):
        out += bytes(piece.planes[0])[: piece.samples * 2]
    return bytes(out)
