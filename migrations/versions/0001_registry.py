"""registry: users, tokens, the skill catalogue (seeded), volunteers

Revision ID: 0001
Revises:
Create Date: 2026-11-26

"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


# The catalogue as first shipped. A skill's bit is its place in volunteers.skill_mask and
# never changes; new skills get the next free bit in a later migration.
SKILLS = [
    ("first_aid", "First aid", "Первая помощь", "Алғашқы көмек"),
    ("medical", "Medical professional", "Медицинский работник", "Медицина қызметкері"),
    ("firefighting", "Firefighting", "Тушение пожаров", "Өрт сөндіру"),
    ("water_rescue", "Water rescue", "Спасение на воде", "Судағы құтқару"),
    ("search_rescue", "Search and rescue", "Поисково-спасательные работы", "Іздеу-құтқару"),
    ("mountain_rescue", "Mountain rescue", "Горноспасательные работы", "Таудағы құтқару"),
    ("diver", "Diver", "Водолаз", "Сүңгуір"),
    ("boat_operator", "Boat operator", "Судоводитель", "Қайық жүргізуші"),
    ("driver_4x4", "4x4 driver", "Водитель внедорожника", "Жол талғамайтын көлік жүргізушісі"),
    ("heavy_vehicle", "Heavy vehicle driver", "Водитель спецтехники", "Ауыр техника жүргізушісі"),
    ("drone_pilot", "Drone pilot", "Оператор дрона", "Дрон операторы"),
    ("k9_handler", "K9 handler", "Кинолог", "Кинолог"),
    ("radio_operator", "Radio operator", "Радист", "Радист"),
    ("psychological_support", "Psychological support", "Психологическая поддержка", "Психологиялық қолдау"),
    ("logistics", "Logistics", "Логистика", "Логистика"),
    ("animal_rescue", "Animal rescue", "Спасение животных", "Жануарларды құтқару"),
    ("translator", "Translator", "Переводчик", "Аудармашы"),
]


def upgrade():
    skills = op.create_table(
        "skills",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("bit", sa.SmallInteger(), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("name_ru", sa.String(length=100), nullable=False),
        sa.Column("name_kk", sa.String(length=100), nullable=False),
        sa.CheckConstraint("bit >= 0 AND bit < 63", name=op.f("ck_skills_bit_range")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_skills")),
        sa.UniqueConstraint("bit", name=op.f("uq_skills_bit")),
    )
    op.bulk_insert(
        skills,
        [
            {"code": code, "bit": bit, "name_en": en, "name_ru": ru, "name_kk": kk}
            for bit, (code, en, ru, kk) in enumerate(SKILLS)
        ],
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("role IN ('viewer', 'coordinator', 'admin')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "volunteers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("skill_mask", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("max_distance_km", sa.Float(), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("busy_until", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("phone_problem", sa.String(length=32), nullable=True),
        sa.Column("last_alerted_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("language IN ('kk', 'ru', 'en')", name=op.f("ck_volunteers_language")),
        sa.CheckConstraint("status IN ('active', 'opted_out', 'inactive')", name=op.f("ck_volunteers_status")),
        sa.CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name=op.f("ck_volunteers_lat_range")),
        sa.CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name=op.f("ck_volunteers_lon_range")),
        sa.CheckConstraint("max_distance_km > 0", name=op.f("ck_volunteers_max_distance_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteers")),
        sa.UniqueConstraint("phone", name=op.f("uq_volunteers_phone")),
    )
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.create_index("ix_volunteers_lat_lon", ["lat", "lon"], unique=False)
        batch_op.create_index(batch_op.f("ix_volunteers_organization"), ["organization"], unique=False)
        batch_op.create_index(batch_op.f("ix_volunteers_status"), ["status"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volunteers_status"))
        batch_op.drop_index(batch_op.f("ix_volunteers_organization"))
        batch_op.drop_index("ix_volunteers_lat_lon")

    op.drop_table("volunteers")
    op.drop_table("users")
    op.drop_table("skills")
