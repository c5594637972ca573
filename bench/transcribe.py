"""Transcription speed and accuracy of pocketsphinx on this machine.

Speech is made here with espeak-ng (en-us, 140 words/min), encoded to WebM/Opus as a browser
would, then decoded, resampled and transcribed exactly as the transcription job does.
Prints the real-time factor (seconds of audio per second of processing; target >= 3) and the
word error rate against the known sentences.
"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.recordings.transcribe import PocketsphinxEngine, merge  # noqa: E402
from tests import speech  # noqa: E402

EXTRA = [
    ("visitor", "Our company is based in Austin, Texas."),
    ("rep", "Great, we have several customers in Texas."),
    ("visitor", "How long does it take to set up the widget?"),
    ("rep", "Most teams are live in about ten minutes."),
]


def main() -> None:
    if not speech.have_espeak():
        sys.exit("espeak-ng is not installed (apt-get install espeak-ng)")
    tracks, timeline = speech.conversation_tracks(speech.CONVERSATION + EXTRA)
    engine = PocketsphinxEngine()
    parts, audio_seconds, busy = {}, 0.0, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for kind, pcm in tracks.items():
            path = Path(tmp) / f"{kind}.webm"
            path.write_bytes(speech.encode_webm(pcm))
            seconds = len(pcm) / 2 / speech.RATE
            started = time.perf_counter()
            parts[kind], _ = engine.transcribe(str(path), "en")
            elapsed = time.perf_counter() - started
            audio_seconds, busy = audio_seconds + seconds, busy + elapsed
            reference = " ".join(text for speaker, text, _, _ in timeline if speaker == kind)
            heard = " ".join(text for _, _, text in parts[kind])
            print(f"{kind:8s} {seconds:6.1f} s of audio in {elapsed:5.2f} s: "
                  f"{seconds / elapsed:5.1f}x real time, WER {speech.word_error_rate(reference, heard):.2f}")
    transcript = merge(parts, {"visitor": "Visitor", "rep": "Rep"}, "en")
    reference = " ".join(text for _, text, _, _ in timeline)
    wer = speech.word_error_rate(reference, " ".join(s["text"] for s in transcript["segments"]))
    words = len(speech.words(reference))
    print(f"pocketsphinx: {audio_seconds:.1f} s of audio in {busy:.2f} s = "
          f"{audio_seconds / busy:.1f}x real time (target >= 3x); "
          f"WER {wer:.2f} over {words} words, {len(timeline)} sentences")


if __name__ == "__main__":
    main()
