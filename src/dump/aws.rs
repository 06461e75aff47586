//! Reading AWS CLI JSON outputs (`aws ecs describe-*`, `aws ec2 describe-*`) as source events.
