import { render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { ConnectionView } from "../../api";
import { connection } from "../../test/fixtures";
import { ConnectionRow } from "./ConnectionRow";

function renderRow(consent: ConnectionView["consent"]) {
  render(
    <ConnectionRow
      connection={connection({ consent })}
      onEdit={vi.fn()}
      onRemove={vi.fn()}
      onVerified={vi.fn().mockResolvedValue(undefined)}
    />,
  );
  return screen.getByTestId("conn-consent-info");
}

describe("the consent on a connection row", () => {
  it("is given by the operator the form named, with the OS account beside it", () => {
    const info = renderRow({ by: "Marta Kowalska", osUser: "root", at: "2025-03-04T05:06:07Z" });
    expect(info).toHaveTextContent(/^Given by Marta Kowalska \(OS account root\) on /);
  });

  it("shows an older consent (the OS account only) as it was recorded", () => {
    const info = renderRow({ by: "root", at: "2025-03-04T05:06:07Z" });
    expect(info).toHaveTextContent(/^Given by root on /);
  });
});
