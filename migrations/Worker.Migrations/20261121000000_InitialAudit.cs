using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;
using Worker.Persistence;

namespace Worker.Migrations;

/// <summary>The audit trail: one row per request, one per provider call (or skipped step).</summary>
[DbContext(typeof(AuditDbContext))]
[Migration("20261121000000_InitialAudit")]
public sealed class InitialAudit : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.CreateTable(
            name: "requests",
            columns: table => new
            {
                request_id = table.Column<Guid>(type: "uuid", nullable: false),
                conversation_id = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                chain = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                status = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                received_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                first_attempt_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                provider = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                fallback_used = table.Column<bool>(type: "boolean", nullable: false),
                attempt_count = table.Column<int>(type: "integer", nullable: false),
                input_tokens = table.Column<int>(type: "integer", nullable: true),
                output_tokens = table.Column<int>(type: "integer", nullable: true),
                estimated_cost_usd = table.Column<decimal>(type: "numeric(18,8)", precision: 18, scale: 8, nullable: true),
                failure_reason = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                error = table.Column<string>(type: "text", nullable: true),
                metadata = table.Column<string>(type: "jsonb", nullable: true),
                replay_count = table.Column<int>(type: "integer", nullable: false),
                prompt_hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                prompt = table.Column<string>(type: "text", nullable: true),
                response_hash = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true),
                response = table.Column<string>(type: "text", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_requests", x => x.request_id);
            });

        migrationBuilder.CreateTable(
            name: "attempts",
            columns: table => new
            {
                id = table.Column<long>(type: "bigint", nullable: false)
                    .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityAlwaysColumn),
                request_id = table.Column<Guid>(type: "uuid", nullable: false),
                step_index = table.Column<int>(type: "integer", nullable: false),
                provider = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                model = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                attempt = table.Column<int>(type: "integer", nullable: false),
                started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                ended_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                latency_ms = table.Column<int>(type: "integer", nullable: false),
                call_made = table.Column<bool>(type: "boolean", nullable: false),
                outcome = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                error_class = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                http_status = table.Column<int>(type: "integer", nullable: true),
                retry_after_ms = table.Column<int>(type: "integer", nullable: true),
                decision = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                wait_ms = table.Column<int>(type: "integer", nullable: true),
                note = table.Column<string>(type: "text", nullable: true),
                detail = table.Column<string>(type: "text", nullable: true),
                input_tokens = table.Column<int>(type: "integer", nullable: true),
                output_tokens = table.Column<int>(type: "integer", nullable: true),
                cost_usd = table.Column<decimal>(type: "numeric(18,8)", precision: 18, scale: 8, nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_attempts", x => x.id);
                table.ForeignKey(
                    name: "FK_attempts_requests_request_id",
                    column: x => x.request_id,
                    principalTable: "requests",
                    principalColumn: "request_id",
                    onDelete: ReferentialAction.Cascade);
            });

        migrationBuilder.CreateIndex(
            name: "ix_attempts_provider_model_started_at",
            table: "attempts",
            columns: ["provider", "model", "started_at"]);

        migrationBuilder.CreateIndex(
            name: "ix_attempts_request_id",
            table: "attempts",
            columns: ["request_id", "id"]);

        migrationBuilder.CreateIndex(
            name: "ix_attempts_started_at",
            table: "attempts",
            column: "started_at");

        migrationBuilder.CreateIndex(
            name: "ix_requests_received_at",
            table: "requests",
            column: "received_at");

        migrationBuilder.CreateIndex(
            name: "ix_requests_status_received_at",
            table: "requests",
            columns: ["status", "received_at"]);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: "attempts");
        migrationBuilder.DropTable(name: "requests");
    }
}
