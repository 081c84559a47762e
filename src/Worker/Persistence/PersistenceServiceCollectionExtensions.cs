using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Worker.Persistence;

public static class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL data source (one pool for everything, the readiness check included), the EF context factory, the
    /// gate that keeps one-request writes within the pool, and the retry every such write runs under.
    /// </summary>
    public static IServiceCollection AddPersistence(this IServiceCollection services, IConfiguration configuration)
    {
        const string key = "ConnectionStrings:Postgres (env ConnectionStrings__Postgres)";
        var postgres = configuration.GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(postgres))
        {
            throw new ConfigurationException($"{key} is required, e.g. Host=localhost;Database=llm_worker;Username=worker;Password=...");
        }

        try
        {
            _ = new NpgsqlConnectionStringBuilder(postgres);
        }
        catch (ArgumentException e)
        {
            // Never echo the value: it holds a password.
            throw new ConfigurationException($"{key} is not a valid Npgsql connection string: {e.Message}");
        }

        services.AddSingleton(_ => NpgsqlDataSource.Create(WithAutoPrepare(postgres)));
        services.AddPooledDbContextFactory<AuditDbContext>((sp, options) => AuditDbContext.Configure(options, sp.GetRequiredService<NpgsqlDataSource>()));
        services.AddSingleton<DatabaseGate>();
        services.AddSingleton<WriteRetry>();
        return services;
    }

    /// <summary>
    /// Every request runs the same few statements (the group commits, lease renewal), so Npgsql prepares them per
    /// connection and PostgreSQL skips parsing and planning them again: that is most of its CPU per request at low
    /// concurrency. A <c>Max Auto Prepare</c> in the connection string wins.
    /// </summary>
    internal static string WithAutoPrepare(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 64;
        }

        return builder.ConnectionString;
    }
}
