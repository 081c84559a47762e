using Microsoft.Extensions.Options;
using Quartz;
using Worker.Hosting;

namespace Worker.Deferrals;

public static class DeferralsServiceCollectionExtensions
{
    /// <summary>The <c>Deferrals</c> section and the Quartz job that re-publishes due deferred requests.</summary>
    public static IServiceCollection AddDeferrals(this IServiceCollection services)
    {
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
