using Microsoft.Extensions.Options;

namespace Worker.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>The <c>Audit</c> and <c>Pricing</c> sections, and the price table.</summary>
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
        return services;
    }
}
