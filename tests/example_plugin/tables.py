from piccolo.columns import ForeignKey, OnDelete, Varchar
from piccolo.table import Table

from core.auth.tables import User
from core.org.tables import Department


class ExampleNote(Table, tablename="example_notes"):
    owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.set_null)
    text = Varchar(length=200)
