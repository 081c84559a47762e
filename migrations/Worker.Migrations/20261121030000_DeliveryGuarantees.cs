using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Worker.Persistence;

namespace Worker.Migrations;

/// <summary>
/// Delivery guarantees: the canonical payload hash of every request (a reused request id with another payload is
/// refused), the claim a delivery holds while it runs a request (instance, token, lease), and deferred_requests, where
/// requests wait durably to resume where their chain stopped.
/// <para>
/// Where dotnet ef takes over: the four first migrations were hand-written, with no model snapshot. Rather than a
/// generated baseline migration with an empty Up (a new id every existing database would have to record before a new
/// worker may start), this last hand-written migration carries the designer file dotnet ef generated from the model, and
/// AuditDbContextModelSnapshot.cs holds the same model. The migrations build exactly that model (AuditSchemaTests checks
/// it on PostgreSQL), so existing databases need no change, <c>dotnet ef migrations add</c> diffs the model against the
/// snapshot, and <c>dotnet ef migrations remove</c> of the next migration reverts the snapshot to this one's model.
/// </para>
/// </summary>
[DbContext(typeof(AuditDbContext))]
[Migration("20261121030000_DeliveryGuarantees")]
public sealed partial class DeliveryGuarantees : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<string>(
            name: "payload_hash",
            table: "requests",
            type: "character varying(64)",
            maxLength: 64,
            nullable: true);

        migrationBuilder.AddColumn<string>(
            name: "claimed_by",
            table: "requests",
            type: "character varying(128)",
            maxLength: 128,
            nullable: true);

        migrationBuilder.AddColumn<Guid>(
            name: "claim_token",
            table: "requests",
            type: "uuid",
            nullable: true);

        migrationBuilder.AddColumn<DateTimeOffset>(
            name: "lease_until",
            table: "requests",
            type: "timestamp with time zone",
            nullable: true);

        migrationBuilder.CreateTable(
            name: "deferred_requests",
            columns: table => new
            {
                request_id = table.Column<Guid>(type: "uuid", nullable: false),
                state = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                resume_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                step_index = table.Column<int>(type: "integer", nullable: false),
                attempt = table.Column<int>(type: "integer", nullable: false),
                calls = table.Column<int>(type: "integer", nullable: false),
                deferral_started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                deferred_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                defer_count = table.Column<int>(type: "integer", nullable: false),
                reason = table.Column<string>(type: "text", nullable: true),
                message = table.Column<string>(type: "jsonb", nullable: false),
                released_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_deferred_requests", x => x.request_id);
                table.ForeignKey(
                    name: "fk_deferred_requests_request_id",
                    column: x => x.request_id,
                    principalTable: "requests",
                    principalColumn: "request_id",
                    onDelete: ReferentialAction.Cascade);
            });

        migrationBuilder.CreateIndex(
            name: "ix_deferred_requests_state_resume_at",
            table: "deferred_requests",
            columns: ["state", "resume_at"]);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: "deferred_requests");
        migrationBuilder.DropColumn(name: "lease_until", table: "requests");
        migrationBuilder.DropColumn(name: "claim_token", table: "requests");
        migrationBuilder.DropColumn(name: "claimed_by", table: "requests");
        migrationBuilder.DropColumn(name: "payload_hash", table: "requests");
    }
}
