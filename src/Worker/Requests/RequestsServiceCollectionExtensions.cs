using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Quartz;

namespace Worker.Requests;

public static class RequestsServiceCollectionExtensions
{
    /// <summary>
    /// What happens to a request between its delivery and its result: the <c>Requests</c> section (what is accepted), the
    /// rows it is audited with, the lifecycle (claim, defer, complete, reject), the group commits its writes share, the
    /// claim leases (Messaging:ClaimLease, Messaging:ClaimRenewInterval) and their renewal, and the <c>Deferrals</c>
    /// section with the Quartz job that re-publishes due deferred requests (to the <see cref="IRequestQueue"/> Messaging
    /// registers).
    /// </summary>
    public static IServiceCollection AddRequests(this IServiceCollection services)
    {
        services.AddOptions<RequestLimits>().BindConfiguration(RequestLimits.Section).ValidateDataAnnotationsByKey(RequestLimits.Section).ValidateOnStart();
        services.AddSingleton<AuditRowBuilder>();
        services.AddSingleton<RequestWrites>();
        services.AddSingleton<RequestLifecycle>();
        services.AddSingleton<IRequestLifecycle>(sp => sp.GetRequiredService<RequestLifecycle>());
        services.AddOptions<ClaimLeaseOptions>().BindConfiguration(ClaimLeaseOptions.Section).ValidateDataAnnotationsByKey(ClaimLeaseOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClaimLeaseOptions>, ClaimLeaseOptionsValidator>());
        services.AddSingleton<ClaimLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<ClaimLeases>());
        services.AddOptions<DeferralsOptions>().BindConfiguration(DeferralsOptions.Section).ValidateDataAnnotationsByKey(DeferralsOptions.Section).ValidateOnStart();
        services.AddSingleton<DeferralRelease>();
        services.AddQuartz(q => q.ScheduleJob<DeferralReleaseJob>(
            (sp, trigger) => trigger.WithIdentity("deferred-requests").StartNow()
                .WithSimpleSchedule(s => s.WithInterval(sp.GetRequiredService<IOptions<DeferralsOptions>>().Value.PollInterval).RepeatForever()
                    // A firing missed while the previous one ran is dropped, not caught up.
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)),
            (_, job) => job.WithIdentity("deferred-requests")));
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }
}
