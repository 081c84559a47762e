using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;
using Worker.Persistence;

namespace Worker.Migrations;

/// <summary>
/// Provider health: pings (once per cluster, claimed through provider_health_slots), breaker transitions per
/// instance, and alerts with at most one open per rule, provider and model.
/// </summary>
[DbContext(typeof(AuditDbContext))]
[Migration("20261121010000_ProviderHealth")]
public sealed class ProviderHealth : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "provider_pings",
            columns: table => new
            {
                id = table.Column<long>(type: "bigint", nullable: false)
                    .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                provider = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                slot = table.Column<long>(type: "bigint", nullable: false),
                pinged_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                latency_ms = table.Column<int>(type: "integer", nullable: false),
                outcome = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                error_class = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                http_status = table.Column<int>(type: "integer", nullable: true),
                detail = table.Column<string>(type: "text", nullable: true),
                instance = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_provider_pings", x => x.id);
            });

        migrationBuilder.CreateTable(
            name: "provider_health_slots",
            columns: table => new
            {
                job = table.Column<string>(type: "character varying(300)", maxLength: 300, nullable: false),
                slot = table.Column<long>(type: "bigint", nullable: false),
                claimed_by = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                claimed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_provider_health_slots", x => new { x.job, x.slot });
            });

        migrationBuilder.CreateTable(
            name: "breaker_events",
            columns: table => new
            {
                id = table.Column<long>(type: "bigint", nullable: false)
                    .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                provider = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                transition = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                instance = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_breaker_events", x => x.id);
            });

        migrationBuilder.CreateTable(
            name: "provider_alerts",
            columns: table => new
            {
                id = table.Column<Guid>(type: "uuid", nullable: false),
                rule = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                provider = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                raised_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                resolved_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                detail = table.Column<string>(type: "text", nullable: false),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_provider_alerts", x => x.id);
            });

        migrationBuilder.CreateIndex(
            name: "ix_provider_pings_provider_model_pinged_at",
            table: "provider_pings",
            columns: ["provider", "model", "pinged_at"]);

        migrationBuilder.CreateIndex(
            name: "ix_provider_pings_pinged_at",
            table: "provider_pings",
            column: "pinged_at");

        migrationBuilder.CreateIndex(
            name: "ix_provider_health_slots_claimed_at",
            table: "provider_health_slots",
            column: "claimed_at");

        migrationBuilder.CreateIndex(
            name: "ix_breaker_events_provider_model_at",
            table: "breaker_events",
            columns: ["provider", "model", "at"]);

        migrationBuilder.CreateIndex(
            name: "ix_breaker_events_at",
            table: "breaker_events",
            column: "at");

        migrationBuilder.CreateIndex(
            name: "ux_provider_alerts_open",
            table: "provider_alerts",
            columns: ["rule", "provider", "model"],
            unique: true,
            filter: "resolved_at IS NULL");

        migrationBuilder.CreateIndex(
            name: "ix_provider_alerts_raised_at",
            table: "provider_alerts",
            column: "raised_at");
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: "provider_alerts");
        migrationBuilder.DropTable(name: "breaker_events");
        migrationBuilder.DropTable(name: "provider_health_slots");
        migrationBuilder.DropTable(name: "provider_pings");
    }
}
