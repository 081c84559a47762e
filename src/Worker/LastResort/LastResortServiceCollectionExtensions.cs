using Microsoft.Extensions.Options;

namespace Worker.LastResort;

public static class LastResortServiceCollectionExtensions
{
    /// <summary>The <c>LastResort</c> section, validated at start, the shared response cache and the answers of last resort.</summary>
    public static IServiceCollection AddLastResort(this IServiceCollection services)
    {
        services.AddOptions<LastResortOptions>().BindConfiguration(LastResortOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LastResortOptions>, LastResortOptionsValidator>();
        services.AddSingleton<ResponseCache>();
        services.AddSingleton<LastResortAnswers>();
        return services;
    }
}
