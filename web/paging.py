"""Page numbers from the query string, bounded."""

from __future__ import annotations

from dataclasses import dataclass

PER_PAGE_CHOICES = (25, 50, 100, 200)


def int_arg(args, name: str, default: int, lo: int = 1, hi: int = 1_000_000) -> int:
    try:
        value = int(args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, lo), hi)


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int
    total: int

    @classmethod
    def from_args(cls, args, default_per_page: int = 50) -> Page:
        per_page = int_arg(args, "per_page", default_per_page)
        if per_page not in PER_PAGE_CHOICES:
            per_page = default_per_page
        return cls(int_arg(args, "page", 1), per_page, 0)

    def with_total(self, total: int) -> Page:
        return Page(self.number, self.per_page, total)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_item(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.per_page + 1

    @property
    def last_item(self) -> int:
        return min(self.number * self.per_page, self.total)
