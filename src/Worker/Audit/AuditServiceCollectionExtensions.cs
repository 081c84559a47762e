using Microsoft.Extensions.Options;
using Worker.Metrics;

namespace Worker.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>
    /// The PostgreSQL data source (one pool, shared with the readiness check), the audit context factory, the
    /// <c>Audit</c> and <c>Pricing</c> sections, the write path and the worker's meter.
    /// </summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, IConfiguration configuration)
    {
        // The binder would throw a bare InvalidOperationException at start; say what the values are instead.
        if (configuration[$"{AuditOptions.Section}:{nameof(AuditOptions.PromptStorage)}"] is { } storage &&
            !(Enum.TryParse<PromptStorage>(storage, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)))
        {
            throw new ConfigurationException($"Audit:PromptStorage must be Full, HashOnly or None, was '{storage}' (env Audit__PromptStorage)");
        }

        services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section).ValidateDataAnnotationsByKey(AuditOptions.Section).ValidateOnStart();
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PricingOptions>, PricingOptionsValidator>();

        services.AddSingleton<PriceTable>();
        services.AddSingleton<AuditRowBuilder>();
        services.AddSingleton<WorkerMetrics>();
        return services;
    }
}
