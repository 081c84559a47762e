using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Npgsql;
using Worker.Persistence;

namespace Worker.Migrations;

/// <summary>
/// How dotnet ef builds the context without starting the worker. Adding a migration or a script needs no database;
/// the connection string matters only to commands that connect (database update, migrations list).
/// </summary>
public sealed class DesignTimeContextFactory : IDesignTimeDbContextFactory<AuditDbContext>
{
    public AuditDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Postgres") is { Length: > 0 } set
            ? set
            : "Host=localhost;Database=llm_worker;Username=worker;Password=worker";
        // Never disposed: dotnet ef ends with the process, and the context needs the data source to its last command.
        return AuditMigrator.CreateContext(NpgsqlDataSource.Create(connectionString));
    }
}
