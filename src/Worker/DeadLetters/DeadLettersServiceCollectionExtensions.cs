using Microsoft.Extensions.Options;
using Quartz;
using Worker.Requests;

namespace Worker.DeadLetters;

public static class DeadLettersServiceCollectionExtensions
{
    /// <summary>
    /// Parking (for Requests, <see cref="IParking"/>), the dead-letter store and its routes' services, the replay runner, the <c>_error</c> queue
    /// ingestion, and the Quartz jobs: archive retention, and automatic replay when DeadLetters:AutoReplay is on.
    /// </summary>
    public static IServiceCollection AddDeadLetters(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DeadLettersOptions>()
            .BindConfiguration(DeadLettersOptions.Section)
            .ValidateDataAnnotationsByKey(DeadLettersOptions.Section)
            .Validate(o => o.ParkReasonSet().All(DeadLettersOptions.ParkableReasons.Contains),
                $"DeadLetters:ParkReasons must be a comma-separated list of {string.Join(", ", DeadLettersOptions.ParkableReasons)} (env DeadLetters__ParkReasons)")
            .Validate(o => CronExpression.TryParse(o.RetentionSchedule, out _),
                "DeadLetters:RetentionSchedule must be a Quartz cron expression, seconds first (e.g. \"0 30 * * * ?\" for hourly).")
            .ValidateOnStart();

        services.AddSingleton<IParking, ChainParking>();
        services.AddSingleton<DeadLetterStore>();
        services.AddSingleton<IChainHealth, RecentSuccessChainHealth>();
        services.AddSingleton<AutoReplay>();
        services.AddSingleton<DeadLetterRetention>();
        services.AddSingleton<ReplayRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<ReplayRunner>());
        if (configuration.GetValue($"{DeadLettersOptions.Section}:{nameof(DeadLettersOptions.IngestErrorQueue)}", true))
        {
            services.AddSingleton<ErrorQueueIngest>();
            services.AddHostedService(sp => sp.GetRequiredService<ErrorQueueIngest>());
        }

        services.AddQuartz(q =>
        {
            q.ScheduleJob<DeadLetterRetentionJob>(
                (sp, trigger) => trigger.WithIdentity("dead-letter-retention")
                    .WithCronSchedule(sp.GetRequiredService<IOptions<DeadLettersOptions>>().Value.RetentionSchedule),
                (_, job) => job.WithIdentity("dead-letter-retention"));
            if (configuration.GetValue($"{DeadLettersOptions.Section}:{nameof(DeadLettersOptions.AutoReplay)}", false))
            {
                q.ScheduleJob<AutoReplayJob>(
                    (sp, trigger) => trigger.WithIdentity("dead-letter-auto-replay").StartNow()
                        .WithSimpleSchedule(s => s.WithInterval(sp.GetRequiredService<IOptions<DeadLettersOptions>>().Value.AutoReplayInterval).RepeatForever()),
                    (_, job) => job.WithIdentity("dead-letter-auto-replay"));
            }
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return services;
    }
}
