// The live home page: the feed of unlocks follows /v1/events (Server-Sent Events); the top players table
// is fetched again every few seconds while the page is shown (following every recorded game would send each
// viewer every game). The browser's EventSource resumes with Last-Event-ID after a dropped connection, so
// no unlock is missed.
(function () {
  "use strict";
  const feed = document.getElementById("feed");
  const live = document.getElementById("live");
  const awards = JSON.parse(document.getElementById("awards-data").textContent);
  // From the position the page was rendered at: an unlock committed meanwhile is not missed.
  const source = new EventSource("/v1/events?types=AwardUnlocked,AwardGranted&after=" + feed.dataset.after);
  const board = document.getElementById("board");
  // Events name players by id: show their display name (the profile has it), asked once per player.
  const names = {};

  function showName(link, playerId) {
    link.textContent = names[playerId] || playerId;
    if (names[playerId]) return;
    fetch("/v1/players/" + encodeURIComponent(playerId))
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (profile) {
        if (!profile) return;
        names[playerId] = profile.name;
        feed.querySelectorAll("a[data-player]").forEach(function (a) {
          if (a.dataset.player === playerId) a.textContent = profile.name;
        });
      })
      .catch(function () { /* the id stays shown */ });
  }

  function add(event) {
    const data = JSON.parse(event.data).data;
    const award = awards[data.award_id];
    const item = document.createElement("li");
    item.className = "feed-item fresh tier-" + ((award && award.tier) || "none");
    item.dataset.award = data.award_id;
    const dot = document.createElement("span");
    dot.className = "dot";
    const who = document.createElement("a");
    who.href = "/players/" + encodeURIComponent(data.player_id);
    who.dataset.player = data.player_id;
    showName(who, data.player_id);
    const what = document.createElement("strong");
    what.textContent = award ? award.name : data.award_id;
    const when = document.createElement("time");
    when.dateTime = data.unlocked_at;
    when.textContent = (data.unlocked_at || "").slice(0, 16).replace("T", " ");
    item.append(dot, who, " unlocked ", what, when);
    const empty = feed.querySelector(".empty");
    if (empty) empty.remove();
    feed.prepend(item);
    while (feed.children.length > 50) feed.lastElementChild.remove();
  }

  function row(entry) {
    const tr = document.createElement("tr");
    const rank = document.createElement("td");
    rank.className = "rank";
    rank.textContent = entry.rank;
    const who = document.createElement("td");
    const link = document.createElement("a");
    link.href = "/players/" + encodeURIComponent(entry.player_id);
    link.textContent = entry.name;
    who.append(link);
    const value = document.createElement("td");
    value.className = "num";
    value.textContent = entry.value;
    tr.append(rank, who, value);
    return tr;
  }

  const BOARD_EVERY_MS = 5000;
  function refreshBoard() {
    if (document.visibilityState !== "visible") return;
    fetch("/v1/leaderboards/" + board.dataset.stat + "?limit=" + board.dataset.limit)
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (found) {
        if (found && found.entries.length) board.replaceChildren.apply(board, found.entries.map(row));
      })
      .catch(function () { /* the table stays as it was */ });
  }

  setInterval(refreshBoard, BOARD_EVERY_MS);
  source.addEventListener("AwardUnlocked", add);
  source.addEventListener("AwardGranted", add);
  source.onopen = function () { live.classList.remove("off"); };
  source.onerror = function () { live.classList.add("off"); };
}());
