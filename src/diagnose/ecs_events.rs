//! ECS service event message parsing.
