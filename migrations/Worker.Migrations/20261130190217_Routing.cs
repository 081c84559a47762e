using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Worker.Migrations
{
    /// <summary>
    /// Routing and budgets: the routing decision and tenant of each request, what a deferred run already spent and the
    /// order it follows, the per-tenant daily spend (tenant_spend) and the live instances (worker_instances) that
    /// cluster-wide limits are shared among.
    /// </summary>
    public partial class Routing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "route",
                table: "requests",
                type: "jsonb",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "tenant",
                table: "requests",
                type: "character varying(128)",
                maxLength: 128,
                nullable: true);

            migrationBuilder.AddColumn<decimal>(
                name: "cost_usd",
                table: "deferred_requests",
                type: "numeric(18,8)",
                precision: 18,
                scale: 8,
                nullable: false,
                defaultValue: 0m);

            migrationBuilder.AddColumn<string>(
                name: "route",
                table: "deferred_requests",
                type: "jsonb",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "tenant_spend",
                columns: table => new
                {
                    tenant = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    day = table.Column<DateOnly>(type: "date", nullable: false),
                    spent_usd = table.Column<decimal>(type: "numeric(18,8)", precision: 18, scale: 8, nullable: false),
                    updated_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_tenant_spend", x => new { x.tenant, x.day });
                });

            migrationBuilder.CreateTable(
                name: "worker_instances",
                columns: table => new
                {
                    instance = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    seen_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_worker_instances", x => x.instance);
                });

            migrationBuilder.CreateIndex(
                name: "ix_worker_instances_seen_at",
                table: "worker_instances",
                column: "seen_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "tenant_spend");

            migrationBuilder.DropTable(
                name: "worker_instances");

            migrationBuilder.DropColumn(
                name: "route",
                table: "requests");

            migrationBuilder.DropColumn(
                name: "tenant",
                table: "requests");

            migrationBuilder.DropColumn(
                name: "cost_usd",
                table: "deferred_requests");

            migrationBuilder.DropColumn(
                name: "route",
                table: "deferred_requests");
        }
    }
}
