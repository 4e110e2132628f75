"""Departments (a tree) and positions."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table


class Department(Table, tablename="departments"):
    name = Varchar(length=100)
    parent = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    sort = Integer(default=0)
    created_at = Timestamptz()


class Position(Table, tablename="positions"):
    name = Varchar(length=100, unique=True)
    sort = Integer(default=0)
