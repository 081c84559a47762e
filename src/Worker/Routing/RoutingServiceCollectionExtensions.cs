using Microsoft.Extensions.Options;

namespace Worker.Routing;

public static class RoutingServiceCollectionExtensions
{
    /// <summary>The <c>Routing</c> section, validated at start, the router, and the live figures it ranks by.</summary>
    public static IServiceCollection AddRequestRouting(this IServiceCollection services)
    {
        services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddSingleton<RouteFigures>();
        services.AddHostedService<RouteFiguresRefresher>();
        services.AddSingleton<Router>();
        return services;
    }
}
