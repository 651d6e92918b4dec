import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";
import * as api from "../../api";
import { ListPicker } from "./ListPicker";

vi.mock("../../api", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../api")>();
  return { ...actual, listKlaviyoLists: vi.fn(), createKlaviyoList: vi.fn() };
});

const listKlaviyoLists = vi.mocked(api.listKlaviyoLists);
const createKlaviyoList = vi.mocked(api.createKlaviyoList);

const many = Array.from({ length: 45 }, (_, i) => ({ id: `L${i}`, name: i % 2 ? `Newsletter ${i}` : `VIP ${i}` }));

beforeEach(() => {
  listKlaviyoLists.mockReset();
  createKlaviyoList.mockReset();
});

describe("list picker", () => {
  it("searches by name and pages through the matches", async () => {
    listKlaviyoLists.mockResolvedValue({ lists: many, truncated: false });
    const onPick = vi.fn();
    render(<ListPicker connectionId="c1" selectedId="" onPick={onPick} />);
    await userEvent.click(screen.getByTestId("browse-lists"));

    expect(listKlaviyoLists).toHaveBeenCalledWith("c1");
    expect(await screen.findAllByTestId("list-option")).toHaveLength(20);
    await userEvent.type(screen.getByTestId("list-search"), "vip");
    const vip = screen.getAllByTestId("list-option");
    expect(vip).toHaveLength(20);
    expect(vip.every((o) => o.textContent?.startsWith("VIP"))).toBe(true);
    await userEvent.click(screen.getByTestId("lists-more"));
    expect(screen.getAllByTestId("list-option")).toHaveLength(23); // 23 VIP lists in all
    expect(screen.queryByTestId("lists-more")).toBeNull();

    await userEvent.click(screen.getAllByTestId("list-option")[1]);
    expect(onPick).toHaveBeenCalledWith({ id: "L2", name: "VIP 2" });
  });

  it("creates a list only after confirmation and picks it", async () => {
    listKlaviyoLists.mockResolvedValue({ lists: many.slice(0, 3), truncated: false });
    createKlaviyoList.mockResolvedValue({ id: "NEW123", name: "Spring sale" });
    const onPick = vi.fn();
    render(<ListPicker connectionId="c1" selectedId="" onPick={onPick} />);
    await userEvent.click(screen.getByTestId("browse-lists"));
    await userEvent.type(await screen.findByTestId("list-search"), "Spring sale");
    await userEvent.click(screen.getByTestId("create-list"));

    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog.textContent).toContain("150 new lists a day");
    expect(createKlaviyoList).not.toHaveBeenCalled();
    await userEvent.click(within(dialog).getByTestId("confirm-ok"));
    expect(createKlaviyoList).toHaveBeenCalledWith("c1", "Spring sale");
    expect(onPick).toHaveBeenCalledWith({ id: "NEW123", name: "Spring sale" });
  });

  it("says offline and leaves the typed list ID to the user when Klaviyo is unreachable", async () => {
    listKlaviyoLists.mockRejectedValue({ code: "klaviyo.unreachable", message: "Could not reach https://a.klaviyo.com." });
    render(<ListPicker connectionId="c1" selectedId="" onPick={vi.fn()} />);
    await userEvent.click(screen.getByTestId("browse-lists"));
    const error = await screen.findByTestId("list-picker-error");
    expect(error.dataset.offline).toBe("true");
    expect(error.textContent).toContain("Type the list ID instead");
  });
});
