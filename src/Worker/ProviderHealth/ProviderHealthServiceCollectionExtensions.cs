using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Quartz;

namespace Worker.ProviderHealth;

public static class ProviderHealthServiceCollectionExtensions
{
    /// <summary>
    /// Circuit breakers per provider and model, pacing budgets per provider (shared among the live instances, counted
    /// by the instance heartbeat), quotas (<see cref="IQuotaView"/>), and their upkeep on the app's Quartz scheduler:
    /// pings once per cluster, the sync of pings into every instance's breakers, alerts once per cluster, the daily
    /// quota counts, history pruning. The jobs are scheduled at start by <see cref="HealthSchedule"/>.
    /// </summary>
    public static IServiceCollection AddProviderHealth(this IServiceCollection services)
    {
        services.AddOptions<ProviderHealthOptions>().BindConfiguration(ProviderHealthOptions.Section)
            .ValidateDataAnnotationsByKey(ProviderHealthOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProviderHealthOptions>, ProviderHealthOptionsValidator>());
        services.AddOptions<PacingSection>().BindConfiguration(PacingSection.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PacingSection>, PacingSectionValidator>());
        services.AddSingleton<BreakerEventLog>();
        services.AddHostedService<BreakerEventWriter>();
        services.AddSingleton<CircuitBreakers>();
        services.AddOptions<QuotaSection>().BindConfiguration(QuotaSection.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QuotaSection>, QuotaSectionValidator>());
        services.AddSingleton<QuotaTracker>();
        services.AddSingleton<IQuotaView>(sp => sp.GetRequiredService<QuotaTracker>());
        services.AddSingleton<DailyQuotaCounter>();
        services.AddSingleton<LiveInstances>();
        services.AddSingleton<InstanceRegistry>();
        services.AddHostedService<InstanceHeartbeat>();
        services.AddSingleton<RateBudgets>();

        services.AddSingleton<ClusterSlots>();
        services.AddSingleton<PingSync>();
        services.AddSingleton<ProviderPinger>();
        services.AddSingleton<HealthFiguresQuery>();
        services.AddSingleton<HealthHistory>();
        // Scoped: it publishes through the scope's IPublishEndpoint (a Quartz firing and an HTTP request each have a scope).
        services.AddScoped<ProviderAlerts>();

        // The one Quartz scheduler of the app (in-memory store) is shared: AddQuartz and AddQuartzHostedService add to
        // the default scheduler and its single hosted service, whichever feature calls them first (Retention does too).
        services.AddQuartz(q =>
        {
            q.AddJobType<ProviderPingJob>();
            q.AddJobType<PingSyncJob>();
            q.AddJobType<ProviderAlertsJob>();
            q.AddJobType<HealthHistoryJob>();
            q.AddJobType<QuotaRefreshJob>();
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddHostedService<HealthSchedule>();
        return services;
    }
}
