namespace Worker.Metrics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>The worker's meter (<see cref="WorkerMetrics"/>), recorded from the audit rows as requests finish.</summary>
    public static IServiceCollection AddWorkerMetrics(this IServiceCollection services) => services.AddSingleton<WorkerMetrics>();
}
