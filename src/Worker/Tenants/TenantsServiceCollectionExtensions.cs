using Microsoft.Extensions.Options;

namespace Worker.Tenants;

public static class TenantsServiceCollectionExtensions
{
    /// <summary>The <c>TenantLimits</c> section, validated at start, and the per-instance count the consumer keeps.</summary>
    public static IServiceCollection AddTenantLimits(this IServiceCollection services)
    {
        services.AddOptions<TenantLimitsOptions>().BindConfiguration(TenantLimitsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TenantLimitsOptions>, TenantLimitsOptionsValidator>();
        services.AddSingleton<TenantConcurrency>();
        return services;
    }
}
