"""Coverage pages count endpoints an agent reported, beside the endpoints with facts."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from inventory.models import Observation
from tests.web.conftest import csrf_token

pytestmark = pytest.mark.db


def _heads(table: str) -> list[str]:
    return [h.split(">")[-1] for h in table.split("</thead>")[0].split("</th>")[:-1]]


def test_site_page_and_overview_show_agent_reported_endpoints(login_as, seed, engine):
    with Session(engine) as session:
        session.add(Observation(device_id=seed.hostile_device_id, source="agent", key="host.cores", value="4"))
        session.commit()
    client = login_as("viewer")
    body = client.get(f"/sites/{seed.site_code}").get_data(as_text=True)
    table = body.split('class="coverage-table"')[1].split("</table>")[0]
    heads = _heads(table)
    column = heads.index("Tác nhân báo cáo")
    assert heads[column - 1] == "Đã thu thông tin máy"
    internet = table.split("Mạng Internet")[1].split("</tr>")[0]
    cells = internet.split("</td>")
    # the zone cell's rest and the subnets come first; then the coverage cells in the heads' order
    assert cells[column].split(">", 1)[1].startswith("1/1")  # the laptop: one endpoint, reported by an agent
    overview = client.get("/").get_data(as_text=True)
    assert "Tác nhân báo cáo" in overview.split('class="coverage"')[1]
    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    assert "Reported by agent" in client.get(f"/sites/{seed.site_code}").get_data(as_text=True)
