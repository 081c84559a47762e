using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Hosting;
using Worker.Persistence;
using Worker.Requests;

namespace Worker.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL data source (one pool, shared with the readiness check), the audit context factory, the
    /// <c>Audit</c> and <c>Pricing</c> sections, the write path and the worker's meter.
    /// </summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, IConfiguration configuration)
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

        // The binder would throw a bare InvalidOperationException at start; say what the values are instead.
        if (configuration[$"{AuditOptions.Section}:{nameof(AuditOptions.PromptStorage)}"] is { } storage &&
            !(Enum.TryParse<PromptStorage>(storage, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)))
        {
            throw new ConfigurationException($"Audit:PromptStorage must be Full, HashOnly or None, was '{storage}' (env Audit__PromptStorage)");
        }

        services.AddSingleton(_ => NpgsqlDataSource.Create(postgres));
        services.AddPooledDbContextFactory<AuditDbContext>((sp, options) => AuditDbContext.Configure(options, sp.GetRequiredService<NpgsqlDataSource>()));

        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateDataAnnotationsByKey(AuditOptions.Section).ValidateOnStart();
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PricingOptions>, PricingOptionsValidator>();

        services.AddSingleton<PriceTable>();
        services.AddSingleton<AuditRowBuilder>();
        services.AddSingleton<DatabaseGate>();
        services.AddSingleton<AuditWriteRetry>();
        services.AddSingleton<RequestWrites>();
        services.AddSingleton<WorkerMetrics>();
        services.AddSingleton<RequestLifecycle>();
        return services;
    }
}
