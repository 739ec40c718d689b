import { describe, expect, it } from "vitest";
import { aliasLanes, describeMove, versionColour } from "./registry_timeline";
import type { AliasMove } from "./registry_types";

function move(alias: string, from: number | null, to: number | null, timestamp: number): AliasMove {
  return { alias, from_version: from, to_version: to, timestamp, user_id: "ana", host: "box" };
}

describe("aliasLanes", () => {
  it("closes a segment where the alias moves and keeps the last one open", () => {
    const lanes = aliasLanes([move("champion", null, 1, 10), move("champion", 1, 3, 20)]);
    expect(lanes).toHaveLength(1);
    expect(lanes[0]?.segments).toEqual([
      { version: 1, start: 10, end: 20 },
      { version: 3, start: 20, end: null },
    ]);
    expect(lanes[0]?.current).toBe(3);
  });

  it("ends the lane at a removal and starts again when the alias is set anew", () => {
    const lanes = aliasLanes([move("prod", null, 2, 5), move("prod", 2, null, 8), move("prod", null, 4, 12)]);
    expect(lanes[0]?.segments).toEqual([
      { version: 2, start: 5, end: 8 },
      { version: 4, start: 12, end: null },
    ]);
    expect(lanes[0]?.moves).toHaveLength(3);
  });

  it("orders moves by time whatever order they come in, one lane per alias", () => {
    const lanes = aliasLanes([move("b", null, 2, 30), move("a", 1, 2, 20), move("a", null, 1, 10)]);
    expect(lanes.map((l) => l.alias)).toEqual(["a", "b"]);
    expect(lanes[0]?.segments.map((s) => s.version)).toEqual([1, 2]);
  });

  it("removed aliases have no current version", () => {
    expect(aliasLanes([move("x", null, 1, 1), move("x", 1, null, 2)])[0]?.current).toBeNull();
  });
});

describe("describeMove", () => {
  it("says what moved, from where, by whom", () => {
    expect(describeMove(move("champion", 1, 3, Date.UTC(2026, 11, 1, 10, 30)), true)).toBe(
      "2026-12-01 10:30:00 · @champion v1 → v3 · ana@box",
    );
    expect(describeMove(move("c", null, 2, 0), true)).toContain("@c set to v2");
    expect(describeMove(move("c", 2, null, 0), true)).toContain("@c v2 → removed");
  });

  it("says a forced move was forced, and past what", () => {
    const forced = { ...move("champion", 1, 2, 0), forced: true, overrode: "@champion is protected" };
    expect(describeMove(forced, true)).toMatch(/ · forced past @champion is protected$/);
    expect(describeMove(move("champion", 1, 2, 0), true)).not.toContain("forced");
  });
});

describe("versionColour", () => {
  it("is stable per version and differs between neighbours", () => {
    expect(versionColour(3)).toBe(versionColour(3));
    expect(versionColour(3)).not.toBe(versionColour(4));
  });
});
