import { act, render, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import type { Mapping, MappingPreview as Preview } from "../../api";
import { profilePreview } from "../../test/fixtures";
import { MappingPreview } from "./MappingPreview";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return { ...actual, previewMapping: vi.fn() };
});

const previewMapping = vi.mocked(api.previewMapping);

/** Lets the timers and the promises they start run. */
async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

beforeEach(() => {
  vi.useFakeTimers();
  previewMapping.mockReset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("mapping preview", () => {
  it("asks previewMapping ~300 ms after the last change, with the current mapping", async () => {
    previewMapping.mockResolvedValue({ profiles: [profilePreview()] });
    const first: Mapping = { email: "E-mail" };
    const { rerender } = render(<MappingPreview segmentId="seg-1" mapping={first} />);

    await advance(200);
    rerender(<MappingPreview segmentId="seg-1" mapping={{ email: "E-mail", first_name: "First" }} />);
    await advance(200);
    rerender(<MappingPreview segmentId="seg-1" mapping={{ email: "E-mail", first_name: "First", city: "City" }} />);
    await advance(299);
    expect(previewMapping).not.toHaveBeenCalled();

    await advance(1);
    expect(previewMapping).toHaveBeenCalledOnce();
    expect(previewMapping).toHaveBeenCalledWith("seg-1", { email: "E-mail", first_name: "First", city: "City" });
    expect(screen.getAllByTestId("profile-preview")).toHaveLength(1);
  });

  it("does not ask again for an equal mapping", async () => {
    previewMapping.mockResolvedValue({ profiles: [] });
    const { rerender } = render(<MappingPreview segmentId="seg-1" mapping={{ email: "E-mail" }} />);
    await advance(300);
    rerender(<MappingPreview segmentId="seg-1" mapping={{ email: "E-mail" }} />);
    await advance(300);
    expect(previewMapping).toHaveBeenCalledOnce();
    expect(screen.getByTestId("mapping-preview-empty")).toBeInTheDocument();
  });

  it("shows each profile's line and JSON in a <pre>, and highlights rejects with their reason", async () => {
    previewMapping.mockResolvedValue({
      profiles: [
        profilePreview({ line: 2, profile: '{\n  "email": "ann@example.com"\n}' }),
        profilePreview({ line: 3, profile: null, reject: "invalid email address “bob@”" }),
        profilePreview({ line: 5, warning: "phone “12” left out: not a valid number" }),
      ],
    });
    render(<MappingPreview segmentId="seg-1" mapping={{ email: "E-mail" }} />);
    await advance(300);

    const [ok, rejected, warned] = screen.getAllByTestId("profile-preview");
    expect(ok).toHaveAttribute("data-line", "2");
    expect(ok).toHaveAttribute("data-reject", "false");
    expect(ok).toHaveTextContent("Line 2");
    expect(ok.querySelector("pre")?.textContent).toBe('{\n  "email": "ann@example.com"\n}');

    expect(rejected).toHaveAttribute("data-line", "3");
    expect(rejected).toHaveAttribute("data-reject", "true");
    expect(rejected).toHaveClass("profile-preview-reject");
    expect(rejected).toHaveTextContent("rejected");
    expect(rejected.querySelector("pre")?.textContent).toBe("invalid email address “bob@”");

    expect(within(warned).getByText(/left out/)).toBeInTheDocument();
  });

  it("ignores an answer that arrives after a newer request was made", async () => {
    let answerFirst: (p: Preview) => void = () => {};
    previewMapping
      .mockImplementationOnce(() => new Promise((resolve) => (answerFirst = resolve)))
      .mockResolvedValueOnce({ profiles: [profilePreview({ line: 9, profile: '{"new": true}' })] });
    const { rerender } = render(<MappingPreview segmentId="seg-1" mapping={{ email: "old" }} />);
    await advance(300);
    expect(previewMapping).toHaveBeenCalledTimes(1);

    rerender(<MappingPreview segmentId="seg-1" mapping={{ email: "new" }} />);
    await advance(300);
    expect(previewMapping).toHaveBeenCalledTimes(2);
    expect(screen.getByTestId("profile-preview")).toHaveAttribute("data-line", "9");

    await act(async () => answerFirst({ profiles: [profilePreview({ line: 1, profile: '{"old": true}' })] }));
    expect(screen.getAllByTestId("profile-preview")).toHaveLength(1);
    expect(screen.getByTestId("profile-preview")).toHaveAttribute("data-line", "9");
  });

  it("shows why the preview failed", async () => {
    previewMapping.mockRejectedValue(new api.AppError("mapping.invalid", "column “Gone” is not in the source"));
    render(<MappingPreview segmentId="seg-1" mapping={{ email: "Gone" }} />);
    await advance(300);
    expect(screen.getByTestId("mapping-preview-error")).toHaveTextContent("column “Gone” is not in the source");
    expect(screen.queryByTestId("profile-preview")).not.toBeInTheDocument();
  });

  it("asks nothing until a segment and an email column are chosen", async () => {
    const { rerender } = render(<MappingPreview segmentId={null} mapping={{ email: "E-mail" }} />);
    await advance(1000);
    rerender(<MappingPreview segmentId="seg-1" mapping={null} />);
    await advance(1000);
    expect(previewMapping).not.toHaveBeenCalled();
    expect(screen.getByTestId("mapping-preview")).toHaveTextContent("Choose the email column");
  });
});
