"""What a browser's RTCPeerConnection says about its connection (getStats)."""

import time

# the candidate types of the pair ICE selected
SELECTED_PAIR = """async (expression) => {
  const pc = eval(expression).pc;
  if (!pc) return null;
  const report = await pc.getStats();
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
  });
  if (!pair) return null;
  return {local: report.get(pair.localCandidateId).candidateType,
          remote: report.get(pair.remoteCandidateId).candidateType, bytesReceived: pair.bytesReceived};
}"""


def selected_pair(page, expression, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        pair = page.evaluate(SELECTED_PAIR, expression)
        if pair:
            return pair
        assert time.monotonic() < deadline, "no candidate pair was selected"
        time.sleep(0.25)
