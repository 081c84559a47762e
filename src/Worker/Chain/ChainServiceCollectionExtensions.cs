using Microsoft.Extensions.Options;

namespace Worker.Chain;

public static class ChainServiceCollectionExtensions
{
    /// <summary>The <c>Chains</c> and <c>Chain</c> sections, validated at start, and the runner that walks a chain.</summary>
    public static IServiceCollection AddChains(this IServiceCollection services)
    {
        services.AddOptions<ChainsOptions>().BindConfiguration(ChainsOptions.Section).ValidateOnStart();
        services.AddOptions<ChainRunOptions>().BindConfiguration(ChainRunOptions.Section).ValidateDataAnnotationsByKey(ChainRunOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ChainsOptions>, ChainsOptionsValidator>();
        services.AddSingleton<ChainCatalog>();
        services.AddSingleton<ChainRunner>();
        return services;
    }
}
