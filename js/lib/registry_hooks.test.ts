import { describe, expect, it } from "vitest";
import { failuresTitle, hookNote } from "./registry_hooks";
import type { FailedDelivery, HookInfo } from "./registry_types";

const HOOK: HookInfo = {
  hook_id: "h1",
  events: ["alias_moved"],
  every_model: false,
  target_type: "url",
  target: "https://ci.example.com/deploy?token=***",
  signed: false,
  secret_env: null,
  runs_here: true,
  user_id: "ana",
  creation_time: 0,
};

describe("hookNote", () => {
  it("says whose events, how it signs, and names a secret's variable, never a secret", () => {
    expect(hookNote(HOOK)).toBe("this model");
    expect(hookNote({ ...HOOK, every_model: true, signed: true })).toBe("every model · signed");
    expect(hookNote({ ...HOOK, signed: true, secret_env: "CI_KEY" })).toBe("this model · signed ($CI_KEY)");
  });

  it("says when this kernel does not run a command hook", () => {
    const note = hookNote({ ...HOOK, target_type: "command", runs_here: false });
    expect(note).toContain("not run by this kernel");
  });
});

describe("failuresTitle", () => {
  it("lists each failed delivery with its hook, event and error", () => {
    const failed: FailedDelivery[] = [
      { delivery_id: "d2", hook_id: "h1", hook: "ci.example.com/deploy", event: "alias_moved", timestamp: 0, attempts: 4, error: "HTTP 503" },
      { delivery_id: "d1", hook_id: "h2", hook: "notify", event: "tag_set", timestamp: 0, attempts: 1, error: "exit status 3" },
    ];
    const lines = failuresTitle(failed).split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/ci\.example\.com\/deploy \(alias_moved\): HTTP 503$/);
    expect(lines[2]).toMatch(/notify \(tag_set\): exit status 3$/);
  });
});
