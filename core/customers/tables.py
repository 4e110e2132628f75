"""The customers app's tables.

Every foreign key states its `on_delete` (Piccolo defaults to CASCADE, which would silently take
follow-ups and plugin rows with a customer); children are removed explicitly by the services.
"""

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from core.auth.tables import User
from core.org.tables import Department


class Pool(Table, tablename="customer_pools"):
    """公海: a pool of unowned customers with its claim rules."""

    name = Varchar(length=100)
    active = Boolean(default=True)
    is_default = Boolean(default=False)
    remind_days = Integer(default=3)  # warn the owner D days before recycling
    daily_claim_limit = Integer(default=0)  # 0 = unlimited
    pre_owner_block_days = Integer(default=0)  # previous owner may not re-claim for N days
    max_owned = Integer(default=0)  # 0 = no cap on customers one person owns
    created_at = Timestamptz()


class ImportBatch(Table, tablename="customer_imports"):
    """One committed import, kept so it can be undone."""

    user = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    filename = Varchar(length=255, default="")
    mode = Varchar(length=16, default="create")
    created = Integer(default=0)
    updated = Integer(default=0)
    skipped = Integer(default=0)
    status = Varchar(length=16, default="committed")  # committed | undone
    created_at = Timestamptz()


class Customer(Table, tablename="customers"):
    kind = Varchar(length=16, default="enterprise")  # enterprise | individual
    name = Varchar(length=200, index=True)
    credit_code = Varchar(length=18, default="", index=True)
    type = Varchar(length=32, default="潜在", index=True)
    category = Varchar(length=64, default="")
    level = Varchar(length=32, default="")
    industry = Varchar(length=64, default="")
    province = Varchar(length=32, default="")
    city = Varchar(length=32, default="")
    source = Varchar(length=64, default="")
    address = Varchar(length=255, default="")
    website = Varchar(length=255, default="")
    needs = Text(default="")
    tags = Text(default="")  # comma-joined copy of customer_tags, for display and export
    custom = Text(default="{}")  # JSON validated against custom_field_defs
    owner = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.restrict, index=True)
    pool = ForeignKey(Pool, null=True, on_delete=OnDelete.set_null, index=True)
    pre_owner = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    pooled_at = Timestamptz(null=True, default=None)
    is_public = Boolean(default=False, index=True)  # 公共客户
    last_followup_at = Timestamptz(null=True, default=None, index=True)
    last_opportunity_at = Timestamptz(null=True, default=None)  # kept by the sales plugin
    won_at = Timestamptz(null=True, default=None)  # kept by the sales plugin
    owner_since = Timestamptz(null=True, default=None)
    search_text = Text(default="")  # lower-cased name, codes, contacts, phones, tags for LIKE search
    import_batch = ForeignKey(ImportBatch, null=True, on_delete=OnDelete.set_null)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()


class Contact(Table, tablename="customer_contacts"):
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=100)
    title = Varchar(length=100, default="")
    role = Varchar(length=64, default="")
    importance = Varchar(length=16, default="")
    gender = Varchar(length=8, default="")
    birthday = Date(null=True, default=None)
    birthday_md = Varchar(length=5, default="", index=True)  # "MM-DD" for birthday reminders
    email = Varchar(length=255, default="")
    wechat = Varchar(length=64, default="")
    notes = Text(default="")
    employed = Boolean(default=True)
    is_primary = Boolean(default=False)
    created_at = Timestamptz()


class ContactPhone(Table, tablename="customer_contact_phones"):
    contact = ForeignKey(Contact, on_delete=OnDelete.restrict, index=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    e164 = Varchar(length=20, index=True)
    raw = Varchar(length=64, default="")


class CustomerTag(Table, tablename="customer_tags"):
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    tag = Varchar(length=50, index=True)


class CustomerStar(Table, tablename="customer_stars"):
    """收藏."""

    user = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    created_at = Timestamptz()


class CustomerShare(Table, tablename="customer_shares"):
    """共享: one customer shared with a user or a department, to read or to edit."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.restrict, index=True)
    level = Varchar(length=8, default="read")  # read | edit
    shared_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz()


class Plan(Table, tablename="customer_plans"):
    """联系计划: done by recording a follow-up."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    user = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    due_at = Timestamptz(index=True)
    subject = Text(default="")
    done_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()


class Followup(Table, tablename="customer_followups"):
    """联系记录."""

    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    contact = ForeignKey(Contact, null=True, on_delete=OnDelete.set_null)
    user = ForeignKey(User, null=True, on_delete=OnDelete.restrict, index=True)
    plan = ForeignKey(Plan, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(index=True)
    kind = Varchar(length=32, default="")
    method = Varchar(length=32, default="电话")
    summary = Text(default="")
    next_at = Date(null=True, default=None)
    created_at = Timestamptz()


class FollowupAttachment(Table, tablename="customer_followup_files"):
    followup = ForeignKey(Followup, on_delete=OnDelete.restrict, index=True)
    filename = Varchar(length=255)
    stored_name = Varchar(length=64)
    size = Integer(default=0)
    content_type = Varchar(length=100, default="application/octet-stream")
    created_at = Timestamptz()


class PoolMember(Table, tablename="customer_pool_members"):
    pool = ForeignKey(Pool, on_delete=OnDelete.restrict, index=True)
    user = ForeignKey(User, null=True, on_delete=OnDelete.restrict)
    department = ForeignKey(Department, null=True, on_delete=OnDelete.restrict)


class PoolRule(Table, tablename="customer_pool_rules"):
    """A recycle rule: `kind` no_followup | no_opportunity | not_won within `days`."""

    pool = ForeignKey(Pool, on_delete=OnDelete.restrict, index=True)
    kind = Varchar(length=16, default="no_followup")
    customer_type = Varchar(length=32, default="")  # "" = every type
    level = Varchar(length=32, default="")  # "" = every level
    days = Integer(default=30)
    exempt_won = Boolean(default=True)
    exempt_open_opportunity = Boolean(default=False)
    active = Boolean(default=True)


class OwnerHistory(Table, tablename="customer_owner_history"):
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict, index=True)
    from_user = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    to_user = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    pool = ForeignKey(Pool, null=True, on_delete=OnDelete.set_null)
    action = Varchar(length=16)  # create | claim | release | recycle | assign | transfer | handover | merge
    reason = Text(default="")
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    at = Timestamptz(index=True)


class CustomFieldDef(Table, tablename="customer_field_defs"):
    key = Varchar(length=64, unique=True)
    label = Varchar(length=100)
    kind = Varchar(length=16, default="text")  # text | number | date | choice | multi
    options = Text(default="[]")  # JSON list for choice/multi
    required = Boolean(default=False)
    sort = Integer(default=0)
    active = Boolean(default=True)


class ImportChange(Table, tablename="customer_import_changes"):
    """The before-image of a customer an import updated, for undo."""

    batch = ForeignKey(ImportBatch, on_delete=OnDelete.restrict, index=True)
    customer = ForeignKey(Customer, on_delete=OnDelete.restrict)
    before = Text(default="{}")


class ColumnPref(Table, tablename="customer_column_prefs"):
    user = ForeignKey(User, on_delete=OnDelete.restrict, index=True)
    view = Varchar(length=32, default="customers")
    columns = Text(default="[]")


ALL_TABLES: list[type[Table]] = [
    Pool,
    ImportBatch,
    Customer,
    Contact,
    ContactPhone,
    CustomerTag,
    CustomerStar,
    CustomerShare,
    Plan,
    Followup,
    FollowupAttachment,
    PoolMember,
    PoolRule,
    OwnerHistory,
    CustomFieldDef,
    ImportChange,
    ColumnPref,
]
