using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Worker.Persistence;

namespace Worker.Migrations;

/// <summary>
/// Dead-letter parking and ops replay: the stored result of every terminal request (<c>requests.result</c>), parked
/// messages, and the replay/archive operations with their items.
/// </summary>
[DbContext(typeof(AuditDbContext))]
[Migration("20261121020000_DeadLetters")]
public sealed class DeadLetters : Migration
{
    protected override void Up(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.AddColumn<string>(
            name: "result",
            table: "requests",
            type: "jsonb",
            nullable: true);

        migrationBuilder.CreateTable(
            name: "dead_letters",
            columns: table => new
            {
                id = table.Column<Guid>(type: "uuid", nullable: false),
                request_id = table.Column<Guid>(type: "uuid", nullable: true),
                source = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                reason = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                error_class = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: true),
                provider = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                chain = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                exception_type = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: true),
                group_key = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                error = table.Column<string>(type: "text", nullable: true),
                stack_trace = table.Column<string>(type: "text", nullable: true),
                message = table.Column<string>(type: "jsonb", nullable: true),
                body = table.Column<string>(type: "text", nullable: true),
                content_type = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                headers = table.Column<string>(type: "jsonb", nullable: true),
                faulted_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                first_parked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                last_parked_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                park_count = table.Column<int>(type: "integer", nullable: false),
                resolved_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                resolved_by = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                operation_id = table.Column<Guid>(type: "uuid", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_dead_letters", x => x.id);
            });

        migrationBuilder.CreateTable(
            name: "dead_letter_operations",
            columns: table => new
            {
                id = table.Column<Guid>(type: "uuid", nullable: false),
                kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                requested_by = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                requested_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                selection = table.Column<string>(type: "jsonb", nullable: false),
                redirect_chain = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: true),
                total = table.Column<int>(type: "integer", nullable: false),
                done = table.Column<int>(type: "integer", nullable: false),
                skipped = table.Column<int>(type: "integer", nullable: false),
                started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_dead_letter_operations", x => x.id);
            });

        migrationBuilder.CreateTable(
            name: "dead_letter_operation_items",
            columns: table => new
            {
                operation_id = table.Column<Guid>(type: "uuid", nullable: false),
                dead_letter_id = table.Column<Guid>(type: "uuid", nullable: false),
                position = table.Column<int>(type: "integer", nullable: false),
                state = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                done_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                note = table.Column<string>(type: "text", nullable: true),
            },
            constraints: table =>
            {
                table.PrimaryKey("PK_dead_letter_operation_items", x => new { x.operation_id, x.dead_letter_id });
                table.ForeignKey(
                    name: "fk_dead_letter_operation_items_dead_letter_id",
                    column: x => x.dead_letter_id,
                    principalTable: "dead_letters",
                    principalColumn: "id",
                    onDelete: ReferentialAction.Cascade);
                table.ForeignKey(
                    name: "fk_dead_letter_operation_items_operation_id",
                    column: x => x.operation_id,
                    principalTable: "dead_letter_operations",
                    principalColumn: "id",
                    onDelete: ReferentialAction.Cascade);
            });

        migrationBuilder.CreateIndex(
            name: "ix_dead_letter_operation_items_dead_letter_id",
            table: "dead_letter_operation_items",
            column: "dead_letter_id");

        migrationBuilder.CreateIndex(
            name: "ix_dead_letter_operation_items_operation_state_position",
            table: "dead_letter_operation_items",
            columns: ["operation_id", "state", "position"]);

        migrationBuilder.CreateIndex(
            name: "ix_dead_letter_operations_status_requested_at",
            table: "dead_letter_operations",
            columns: ["status", "requested_at"]);

        migrationBuilder.CreateIndex(
            name: "ix_dead_letters_group_key_status",
            table: "dead_letters",
            columns: ["group_key", "status"]);

        migrationBuilder.CreateIndex(
            name: "ix_dead_letters_request_id",
            table: "dead_letters",
            column: "request_id");

        migrationBuilder.CreateIndex(
            name: "ix_dead_letters_status_last_parked_at",
            table: "dead_letters",
            columns: ["status", "last_parked_at"]);
    }

    protected override void Down(MigrationBuilder migrationBuilder)
    {
        migrationBuilder.DropTable(name: "dead_letter_operation_items");
        migrationBuilder.DropTable(name: "dead_letter_operations");
        migrationBuilder.DropTable(name: "dead_letters");
        migrationBuilder.DropColumn(name: "result", table: "requests");
    }
}
