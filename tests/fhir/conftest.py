from .bulk_support import small_bulk_parts

__all__ = ["small_bulk_parts"]
