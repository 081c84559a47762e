using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Worker.Simulator.Calls;

internal static class CallsRegistration
{
    /// <summary>Registers <see cref="SimulatorState"/> with the profiles configured under <c>Simulator:Targets</c>.</summary>
    public static IServiceCollection AddSimulatorState(this IServiceCollection services, Action<SimulatorOptions>? configure)
    {
        services.TryAddSingleton(TimeProvider.System);
        var options = services.AddOptions<SimulatorOptions>().BindConfiguration(SimulatorOptions.Section).ValidateOnStart();
        if (configure is not null)
            options.Configure(configure);
        services.AddSingleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>();
        services.AddSingleton(sp =>
        {
            var state = new SimulatorState(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SimulatorState>>());
            foreach (var (target, profile) in sp.GetRequiredService<IOptions<SimulatorOptions>>().Value.Targets)
                state.SetProfile(target, profile);
            return state;
        });
        return services;
    }
}
