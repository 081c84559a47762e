namespace Worker.ProviderHealth;

public static class ProviderHealthServiceCollectionExtensions
{
    /// <summary>Circuit breakers per provider and model, and pacing budgets per provider.</summary>
    public static IServiceCollection AddProviderHealth(this IServiceCollection services)
    {
        services.AddOptions<ProviderHealthOptions>().BindConfiguration(ProviderHealthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PacingSection>().BindConfiguration(PacingSection.Section).ValidateOnStart()
            .Validate(section => section.Values.All(p => p.RequestsPerMinute >= 0 && p.TokensPerMinute >= 0 && p.MaxWait >= TimeSpan.Zero),
                "Pacing:<provider>: RequestsPerMinute, TokensPerMinute and MaxWait must not be negative");
        services.AddSingleton<CircuitBreakers>();
        services.AddSingleton<RateBudgets>();
        return services;
    }
}
