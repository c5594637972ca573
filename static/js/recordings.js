// The recording panel: clicking a transcript line seeks the player; the line being spoken is marked.
(function () {
  "use strict";
  if (window.ConvercPlayer) return; // the partial may be swapped in again by htmx polling
  window.ConvercPlayer = true;

  function playerOf(element) {
    var panel = element.closest(".recording-panel");
    return panel && panel.querySelector("video, audio");
  }

  document.addEventListener("click", function (event) {
    var line = event.target.closest("[data-seek]");
    if (!line) return;
    var player = playerOf(line);
    if (!player) return;
    player.currentTime = parseFloat(line.getAttribute("data-seek")) || 0;
    var playing = player.play();
    if (playing && playing.catch) playing.catch(function () {}); // autoplay may be refused: the seek stands
  });

  // timeupdate does not bubble: listen in the capture phase to hear every player
  document.addEventListener("timeupdate", function (event) {
    var player = event.target;
    var panel = player.closest && player.closest(".recording-panel");
    if (!panel) return;
    panel.querySelectorAll("[data-seek]").forEach(function (line) {
      var start = parseFloat(line.getAttribute("data-seek"));
      var end = parseFloat(line.getAttribute("data-end"));
      line.classList.toggle("current", player.currentTime >= start && player.currentTime < end);
    });
  }, true);
})();
