using Microsoft.Extensions.Options;
using Quartz;

namespace Worker.Retention;

public static class RetentionServiceCollectionExtensions
{
    /// <summary>The retention sweep on a Quartz schedule (in-memory store: every instance runs it, see the sweeper).</summary>
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>()
            .BindConfiguration(RetentionOptions.Section)
            .ValidateDataAnnotationsByKey(RetentionOptions.Section)
            .Validate(o => CronExpression.TryParse(o.Schedule, out _),
                "Retention:Schedule must be a Quartz cron expression, seconds first (e.g. \"0 0 * * * ?\" for hourly).")
            .ValidateOnStart();
        services.AddSingleton<RetentionSweeper>();

        services.AddQuartz(q =>
        {
            // The schedule is read when the scheduler is built at start, after the options above were validated.
            q.ScheduleJob<RetentionJob>(
                (sp, trigger) => trigger.WithIdentity("retention")
                    .WithCronSchedule(sp.GetRequiredService<IOptions<RetentionOptions>>().Value.Schedule),
                (_, job) => job.WithIdentity("retention"));
            // On shutdown the sweep is asked to stop between batches, and the host waits for the current one.
            q.ConfigureScheduler(s => s.ShutdownJobInterruption = ShutdownJobInterruption.WhenWaitingForJobs);
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }
}
