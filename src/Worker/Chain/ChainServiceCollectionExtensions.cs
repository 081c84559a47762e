using Microsoft.Extensions.Options;
using Worker.ProviderHealth;

namespace Worker.Chain;

public static class ChainServiceCollectionExtensions
{
    /// <summary>
    /// The <c>Chains</c>, <c>Chain</c>, <c>Retry</c>, <c>ChainPolicies</c> and <c>Capabilities</c> sections, validated at start, the runner that walks a chain, and the chains'
    /// providers and models for ProviderHealth to watch.
    /// </summary>
    public static IServiceCollection AddChains(this IServiceCollection services)
    {
        services.AddOptions<ChainsOptions>().BindConfiguration(ChainsOptions.Section).ValidateOnStart();
        services.AddOptions<ChainRunOptions>().BindConfiguration(ChainRunOptions.Section).ValidateDataAnnotationsByKey(ChainRunOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ChainsOptions>, ChainsOptionsValidator>();
        services.AddOptions<RetryOptions>().BindConfiguration(RetryOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetryOptions>, RetryOptionsValidator>();
        services.AddOptions<ChainPoliciesOptions>().BindConfiguration(ChainPoliciesOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ChainPoliciesOptions>, ChainPoliciesOptionsValidator>();
        services.AddSingleton<ChainCatalog>();
        services.AddSingleton<IMonitoredModels>(sp => sp.GetRequiredService<ChainCatalog>());
        services.AddSingleton<CallCost>();
        services.AddOptions<Structured.CapabilitiesOptions>().BindConfiguration(Structured.CapabilitiesOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<Structured.CapabilitiesOptions>, Structured.CapabilitiesOptionsValidator>();
        services.AddSingleton<Structured.CapabilityTable>();
        services.AddSingleton<ChainRunner>();
        return services;
    }
}
